//! `clearfleet completions SHELL`: the generated scripts load in the real bash, zsh and fish
//! (installed by scripts/setup-test-env.sh) and complete commands, options and values.

use std::path::Path;
use std::process::Command;

use crate::support::cli::{clearfleet, temp_home, write};

/// The script `clearfleet completions shell` prints, written to `dir/name`.
fn script(dir: &Path, shell: &str, name: &str) -> std::path::PathBuf {
    let home = temp_home();
    let run = clearfleet(home.path()).args(["completions", shell]).run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!run.stdout.is_empty());
    write(dir, name, &run.stdout)
}

/// `shell ARGS` with HOME at `home` and nothing from the user's config: its stdout.
fn shell(home: &Path, program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .current_dir(home)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e} (scripts/setup-test-env.sh installs it)"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{program} {args:?}: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// What bash's completion function offers for the words of `line` (the last one being
/// completed), the way bash calls it on TAB.
fn bash_complete(home: &Path, script: &Path, line: &str) -> Vec<String> {
    let words: Vec<&str> = line.split(' ').collect();
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let cword = words.len() - 1;
    let prev = if cword > 0 { words[cword - 1] } else { "" };
    let program = format!(
        "source '{}'\n\
         complete -p clearfleet >/dev/null\n\
         COMP_WORDS=({})\nCOMP_CWORD={cword}\nCOMP_LINE='{line}'\nCOMP_POINT=${{#COMP_LINE}}\n\
         _clearfleet clearfleet '{}' '{prev}'\n\
         printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        script.display(),
        quoted.join(" "),
        words[cword],
    );
    shell(home, "bash", &["--norc", "--noprofile", "-c", &program])
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn bash_completes_commands_options_and_values() {
    let home = temp_home();
    let script = script(home.path(), "bash", "clearfleet.bash");
    assert_eq!(
        bash_complete(home.path(), &script, "clearfleet in"),
        ["inventory"]
    );
    let all = bash_complete(home.path(), &script, "clearfleet ");
    for cmd in [
        "inventory",
        "ping",
        "exec",
        "detect",
        "run",
        "upgrade",
        "plan",
        "releases",
        "completions",
        "man",
    ] {
        assert!(all.iter().any(|w| w == cmd), "{cmd} not in {all:?}");
    }
    assert_eq!(
        bash_complete(home.path(), &script, "clearfleet upgrade --allow"),
        ["--allow-es-migration"]
    );
    assert_eq!(
        bash_complete(home.path(), &script, "clearfleet exec --host-key-checking "),
        ["strict", "accept-new", "off"]
    );
    let shells = bash_complete(home.path(), &script, "clearfleet completions ");
    let values: Vec<&String> = shells.iter().filter(|w| !w.starts_with('-')).collect();
    assert_eq!(values, ["bash", "zsh", "fish"], "{shells:?}");
}

#[test]
fn fish_completes_commands_and_options() {
    let home = temp_home();
    let script = script(home.path(), "fish", "clearfleet.fish");
    let complete = |line: &str| {
        shell(
            home.path(),
            "fish",
            &[
                "--no-config",
                "-c",
                &format!("source '{}'; complete -C '{line}'", script.display()),
            ],
        )
    };
    let out = complete("clearfleet in");
    assert!(out.starts_with("inventory\tShow the inventory"), "{out}");
    assert_eq!(out.lines().count(), 1, "{out}");
    let out = complete("clearfleet upgrade --allow");
    assert!(out.starts_with("--allow-es-migration\t"), "{out}");
}

#[test]
fn zsh_loads_the_completion_function_from_fpath() {
    let home = temp_home();
    let dir = home.path().join("zfunc");
    script(&dir, "zsh", "_clearfleet");
    // compinit binds the function to `clearfleet` by its #compdef line; autoload +X loads it,
    // which fails on a syntax error.
    let out = shell(
        home.path(),
        "zsh",
        &[
            "-f",
            "-c",
            &format!(
                "fpath=('{}' $fpath); autoload -Uz compinit; compinit -u -d \"$HOME/zcompdump\"; \
                 print -r -- $_comps[clearfleet]; autoload +X _clearfleet && whence -w _clearfleet",
                dir.display()
            ),
        ],
    );
    assert_eq!(out, "_clearfleet\n_clearfleet: function\n");
}

#[test]
fn an_unknown_shell_is_refused_with_the_choices() {
    let home = temp_home();
    let run = clearfleet(home.path()).args(["completions", "tcsh"]).run();
    assert_ne!(run.code, 0);
    assert!(
        run.stderr.contains("[possible values: bash, zsh, fish]"),
        "{}",
        run.stderr
    );
}

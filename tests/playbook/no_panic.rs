//! Malformed input never panics: every prefix and a set of mutations of real playbooks,
//! plus hostile shapes (deep nesting, odd scalars, binary-ish text).

use super::support::load;

fn mutations(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    // Every prefix, cut at each line and at a few points inside lines.
    for i in (0..chars.len()).step_by(7) {
        out.push(chars[..i].iter().collect());
    }
    let lines: Vec<&str> = text.lines().collect();
    for i in 0..lines.len() {
        // Drop a line, dedent it, indent it, and replace its value with odd scalars.
        let mut l = lines.clone();
        l.remove(i);
        out.push(l.join("\n"));
        for replacement in [
            lines[i].trim_start().to_owned(),
            format!("  {}", lines[i]),
            format!("{}: [", lines[i]),
            format!("{} {{{{", lines[i]),
            lines[i].replace(':', ": !vault |\n  x"),
            lines[i].replace(':', ": *nope"),
            lines[i].replace(':', ": {a: [1, {b: null}]}"),
            lines[i].replace(':', ": ~"),
            lines[i].replace(':', ": 99999999999999999999999"),
            lines[i].replace(':', ": \"{{ x }}\""),
        ] {
            let mut l = lines.clone();
            l[i] = &replacement;
            out.push(l.join("\n"));
        }
    }
    out
}

#[test]
fn mutated_playbooks_never_panic() {
    let mut count = 0;
    for path in super::examples::EXAMPLES {
        let Ok(text) = std::fs::read_to_string(path) else {
            panic!("cannot read {path}")
        };
        for m in mutations(&text) {
            // Either result is fine; only a panic fails the test.
            let _ = load(&m);
            count += 1;
        }
    }
    assert!(count > 500, "{count}");
}

#[test]
fn hostile_shapes_never_panic() {
    let deep_list = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    let deep_blocks = {
        let mut s = String::from("- hosts: all\n  tasks:\n");
        for depth in 0..300 {
            s.push_str(&format!("{}- block:\n", "  ".repeat(depth + 2)));
        }
        s
    };
    // Just inside the parser's depth budget: exercises the loader's own recursion.
    let nested_blocks = {
        let mut s = String::from("- hosts: all\n  tasks:\n");
        for depth in 0..30 {
            s.push_str(&format!(
                "{}- when: d{depth}\n{}  block:\n",
                "  ".repeat(2 * depth + 2),
                "  ".repeat(2 * depth + 2)
            ));
        }
        s.push_str(&format!("{}- debug: msg=deep\n", "  ".repeat(62)));
        s
    };
    assert!(load(&nested_blocks).is_ok(), "{nested_blocks}");
    let inputs = [
        String::new(),
        "---".to_owned(),
        "~".to_owned(),
        "- ~".to_owned(),
        "- []".to_owned(),
        "- {}".to_owned(),
        "- hosts: all\n  tasks: {}".to_owned(),
        "- hosts: all\n  tasks: [~, 1, [], {}]".to_owned(),
        "- hosts: all\n  tasks: [{block: 1, rescue: x}]".to_owned(),
        "- hosts: all\n  tasks: [{action: {}}, {local_action: []}, {action: ''}]".to_owned(),
        "- hosts: all\n  tasks: [{command: '', args: 5}, {command: '=', args: 'x=\\\\='}]".to_owned(),
        "- hosts: {a: b}\n  serial: [[]]\n  vars: [1]\n  environment: [x]".to_owned(),
        "- import_playbook: [x]\n- import_playbook: ''\n- import_playbook: /".to_owned(),
        "- hosts: all\n  tasks: [{include_tasks: {file: 3}}, {import_tasks: ''}]".to_owned(),
        "- hosts: all\n  tasks: [{debug: x, loop_control: 3}, {debug: y, loop_control: {label: []}}]".to_owned(),
        "\u{feff}- hosts: é\n  tasks:\n    - debug: msg=\u{1F600}=\u{0}".to_owned(),
        "- &a [*a]".to_owned(),
        "- hosts: all\n  <<: {tasks: []}\n".to_owned(),
        "\t- hosts: all".to_owned(),
        deep_list,
        deep_blocks,
    ];
    for input in &inputs {
        let _ = load(input);
    }
}

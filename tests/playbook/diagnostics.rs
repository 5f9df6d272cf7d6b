//! Rendered diagnostics, compared whole: location, message, quoted line, caret, hint.
//! One test per distinct mistake; each input is
//! `tests/fixtures/playbook_diagnostics/NAME.yml`, loaded as `site.yml`.

use super::support::{assert_text, errors};

/// The rendered diagnostics of fixture `name`, loaded as `site.yml`.
fn of(name: &str) -> String {
    let path = format!("tests/fixtures/playbook_diagnostics/{name}.yml");
    match std::fs::read_to_string(&path) {
        Ok(text) => errors(&text),
        Err(e) => panic!("cannot read {path}: {e}"),
    }
}

#[test]
fn args_on_wrong_module() {
    let expected = r#"site.yml:3:13: `copy` does not take free-form text; use `name: value` arguments
  |
3 |     - copy: just some text
  |             ^"#;
    assert_text(&of("args_on_wrong_module"), expected);
}

#[test]
fn become_not_boolean() {
    let expected = r#"site.yml:2:11: `become` must be a boolean (true/false, yes/no), got `maybe`
  |
2 |   become: maybe
  |           ^"#;
    assert_text(&of("become_not_boolean"), expected);
}

#[test]
fn block_with_module() {
    let expected = r#"site.yml:5:7: `command` is not a valid keyword for a block
  |
5 |       command: "true"
  |       ^
  = hint: a block cannot call a module itself: put the task under `block:`"#;
    assert_text(&of("block_with_module"), expected);
}

#[test]
fn collection_module() {
    let expected = r#"site.yml:3:7: unknown module `community.general.ufw`
  |
3 |     - community.general.ufw:
  |       ^
  = hint: clearfleet runs only its own `ansible.builtin` modules (see docs/playbooks.md)"#;
    assert_text(&of("collection_module"), expected);
}

#[test]
fn conflicting_actions() {
    let expected = r#"site.yml:4:7: conflicting action statements: copy, shell
  |
4 |       shell: echo hi
  |       ^"#;
    assert_text(&of("conflicting_actions"), expected);
}

#[test]
fn connection_unsupported() {
    let expected = r#"site.yml:2:15: the connection plugin `winrm` (the keyword `connection`) is not supported by clearfleet: it has `local` and `ssh` (also as `smart` and `paramiko`)
  |
2 |   connection: winrm
  |               ^

error: site.yml:5:19: the connection plugin `community.docker.docker` (the keyword `connection`) is not supported by clearfleet: it has `local` and `ssh` (also as `smart` and `paramiko`)
  |
5 |       connection: community.docker.docker
  |                   ^

error: site.yml:6:13: `port` must be a TCP port (1-65535), got `0`
  |
6 |       port: 0
  |             ^"#;
    assert_text(&of("connection_unsupported"), expected);
}

#[test]
fn delegate_empty() {
    let expected = r#"site.yml:4:20: `delegate_to` needs a host name
  |
4 |       delegate_to: " "
  |                    ^"#;
    assert_text(&of("delegate_empty"), expected);
}

#[test]
fn free_form_unbalanced_quote() {
    let expected = r#"site.yml:3:14: failed at splitting arguments, either an unbalanced jinja2 block or quotes
  |
3 |     - shell: echo 'oops
  |              ^"#;
    assert_text(&of("free_form_unbalanced_quote"), expected);
}

#[test]
fn hosts_missing() {
    let expected = r#"site.yml:1:3: this play has no `hosts`
  |
1 | - name: No hosts here
  |   ^
  = hint: every play needs `hosts:`, for example `hosts: all`"#;
    assert_text(&of("hosts_missing"), expected);
}

#[test]
fn import_templated() {
    let expected = r#"site.yml:3:21: `import_tasks` is read before the run, so its file name cannot be templated
  |
3 |     - import_tasks: "{{ os }}.yml"
  |                     ^
  = hint: use `include_tasks` for a file chosen at run time"#;
    assert_text(&of("import_templated"), expected);
}

#[test]
fn keyword_typo_beside_module() {
    let expected = r#"site.yml:4:7: unknown task keyword or module `becom`
  |
4 |       becom: yes
  |       ^
  = hint: did you mean `become`?"#;
    assert_text(&of("keyword_typo_beside_module"), expected);
}

#[test]
fn listen_on_task() {
    let expected = r#"site.yml:4:7: `listen` is only valid on handlers
  |
4 |       listen: restart
  |       ^"#;
    assert_text(&of("listen_on_task"), expected);
}

#[test]
fn loop_not_list() {
    let expected = r#"site.yml:4:13: `loop` must be a list or a template that gives one, got `3`
  |
4 |       loop: 3
  |             ^"#;
    assert_text(&of("loop_not_list"), expected);
}

#[test]
fn meta_unsupported() {
    let expected = r#"site.yml:3:13: `meta: bogus` is not supported
  |
3 |     - meta: bogus
  |             ^
  = hint: `meta` takes one of flush_handlers, noop, end_host, end_play, end_batch, end_role, clear_facts, clear_host_errors, reset_connection, refresh_inventory"#;
    assert_text(&of("meta_unsupported"), expected);
}

#[test]
fn end_role_outside_role() {
    let expected = r#"site.yml:4:13: Cannot execute 'end_role' from outside of a role
  |
4 |       meta: end_role
  |             ^"#;
    assert_text(&of("end_role_outside_role"), expected);
}

#[test]
fn no_action() {
    let expected = r#"site.yml:3:7: no module/action detected in task
  |
3 |     - name: Does nothing
  |       ^"#;
    assert_text(&of("no_action"), expected);
}

#[test]
fn play_not_mapping() {
    let expected = r#"site.yml:2:3: a play must be a mapping of play keywords, got `just a string`
  |
2 | - just a string
  |   ^"#;
    assert_text(&of("play_not_mapping"), expected);
}

#[test]
fn playbook_not_list() {
    let expected = r#"site.yml:1:1: a playbook must be a list of plays, got a mapping
  |
1 | hosts: all
  | ^"#;
    assert_text(&of("playbook_not_list"), expected);
}

#[test]
fn register_invalid() {
    let expected = r#"site.yml:4:17: invalid variable name in `register`: `my-result`
  |
4 |       register: my-result
  |                 ^"#;
    assert_text(&of("register_invalid"), expected);
}

#[test]
fn retries_not_a_number() {
    let expected = r#"site.yml:4:16: `retries` must be a whole number, got `many`
  |
4 |       retries: many
  |                ^"#;
    assert_text(&of("retries_not_a_number"), expected);
}

#[test]
fn role_missing() {
    let expected = r#"site.yml:3:7: the role `common` was not found in roles:.
  |
3 |     - common
  |       ^"#;
    assert_text(&of("role_missing"), expected);
}

#[test]
fn serial_boolean() {
    let expected = r#"site.yml:2:11: `serial` must be a number, a percentage or a list of them, got `true`
  |
2 |   serial: true
  |           ^
  = hint: for example `serial: 2`, `serial: "30%"` or `serial: [1, 5, "50%"]`"#;
    assert_text(&of("serial_boolean"), expected);
}

#[test]
fn order_unknown() {
    let expected = r#"site.yml:2:10: unknown host `order` `reversed`: it is one of inventory, reverse_inventory, sorted, reverse_sorted, shuffle
  |
2 |   order: reversed
  |          ^"#;
    assert_text(&of("order_unknown"), expected);
}

#[test]
fn force_handlers_not_boolean() {
    let expected = r#"site.yml:2:19: `force_handlers` must be a boolean (true/false, yes/no), got `always`
  |
2 |   force_handlers: always
  |                   ^"#;
    assert_text(&of("force_handlers_not_boolean"), expected);
}

#[test]
fn throttle_not_number() {
    let expected = r#"site.yml:4:17: `throttle` must be a whole number, got `half`
  |
4 |       throttle: half
  |                 ^"#;
    assert_text(&of("throttle_not_number"), expected);
}

#[test]
fn strategy_typo() {
    let expected = r#"site.yml:2:13: unknown strategy `lineer`: clearfleet has `linear` and `free`
  |
2 |   strategy: lineer
  |             ^
  = hint: did you mean `linear`?"#;
    assert_text(&of("strategy_typo"), expected);
}

#[test]
fn task_at_play_level() {
    let expected = r#"site.yml:2:3: unknown play keyword `shell`
  |
2 |   shell: echo misplaced
  |   ^
  = hint: this looks like a task: put it in a play's `tasks:` list"#;
    assert_text(&of("task_at_play_level"), expected);
}

#[test]
fn task_not_mapping() {
    let expected = r#"site.yml:4:7: a task must be a mapping of keywords, got `echo two`
  |
4 |     - "echo two"
  |       ^"#;
    assert_text(&of("task_not_mapping"), expected);
}

#[test]
fn template_syntax() {
    let expected = r#"site.yml:4:14: invalid template in `args.msg`: unbalanced `{{`
  |
4 |         msg: "Hello {{ name"
  |              ^"#;
    assert_text(&of("template_syntax"), expected);
}

#[test]
fn unknown_builtin_module() {
    let expected = r#"site.yml:3:7: unknown module `ansible.builtin.shel`
  |
3 |     - ansible.builtin.shel: echo hi
  |       ^
  = hint: did you mean `shell`?"#;
    assert_text(&of("unknown_builtin_module"), expected);
}

#[test]
fn unknown_module_argument() {
    let expected = r#"site.yml:4:9: unsupported argument `mesage` for module `fail` (supported: msg)
  |
4 |         mesage: boom
  |         ^"#;
    assert_text(&of("unknown_module_argument"), expected);
}

#[test]
fn unknown_module_keyword_typo() {
    let expected = r#"site.yml:4:7: unknown module `becom`
  |
4 |       becom: yes
  |       ^
  = hint: did you mean `become`?"#;
    assert_text(&of("unknown_module_keyword_typo"), expected);
}

#[test]
fn unknown_play_keyword() {
    let expected = r#"site.yml:7:5: unknown play keyword `hots`
  |
7 |     hots: web
  |     ^
  = hint: did you mean `hosts`?"#;
    assert_text(&of("unknown_play_keyword"), expected);
}

#[test]
fn unsupported_keyword() {
    let expected = r#"site.yml:4:7: the task keyword `any_errors_fatal` is not supported by clearfleet
  |
4 |       any_errors_fatal: true
  |       ^"#;
    assert_text(&of("unsupported_keyword"), expected);
}

#[test]
fn debugger_interactive() {
    let expected = r#"site.yml:2:13: `debugger: on_failed` is not supported: clearfleet has no interactive task debugger
  |
2 |   debugger: on_failed
  |             ^
  = hint: remove `debugger` (or write `debugger: never`); register the result and show it with `debug` instead"#;
    assert_text(&of("debugger_interactive"), expected);
}

#[test]
fn debugger_unknown() {
    let expected = r#"site.yml:4:17: 'sometimes' is not a valid value for debugger. Must be one of always, on_failed, on_unreachable, on_skipped, never
  |
4 |       debugger: sometimes
  |                 ^"#;
    assert_text(&of("debugger_unknown"), expected);
}

#[test]
fn vars_prompt_unknown_key() {
    let expected = r#"site.yml:5:7: Invalid vars_prompt data structure, found unsupported key 'hidden'
  |
5 |       hidden: true
  |       ^"#;
    assert_text(&of("vars_prompt_unknown_key"), expected);
}

#[test]
fn collections_unknown_module() {
    let expected = r#"site.yml:5:7: unknown module `ufw`
  |
5 |     - ufw:
  |       ^
  = hint: clearfleet has no collection besides `ansible.builtin`: it cannot look for this module in `community.general` (see docs/playbooks.md); or did you mean `raw`?"#;
    assert_text(&of("collections_unknown_module"), expected);
}

#[test]
fn vars_bad_name() {
    let expected = r#"site.yml:4:5: invalid variable name `2bad`: use letters, digits and `_`, not starting with a digit
  |
4 |     2bad: 2
  |     ^"#;
    assert_text(&of("vars_bad_name"), expected);
}

#[test]
fn vault_value() {
    let expected = r#"site.yml:4:7: cannot decrypt this `!vault` value: Attempting to decrypt but no vault secrets found (give --vault-password-file, --ask-vault-pass or --vault-id)
  |
4 |       $ANSIBLE_VAULT;1.1;AES256
  |       ^"#;
    assert_text(&of("vault_value"), expected);
}

#[test]
fn when_syntax() {
    let expected = r#"site.yml:6:11: invalid expression in `when`: unbalanced parentheses
  |
6 |         - (y | bool
  |           ^"#;
    assert_text(&of("when_syntax"), expected);
}

#[test]
fn with_nested() {
    let expected = r#"site.yml:4:7: `with_nested` loops are not supported by clearfleet
  |
4 |       with_nested: [[1, 2], [a, b]]
  |       ^
  = hint: clearfleet has the lookups dict, env, file, fileglob, first_found, flattened, indexed_items, items, lines, list, password, pipe, sequence, subelements, template, together, vars"#;
    assert_text(&of("with_nested"), expected);
}

#[test]
fn yaml_syntax() {
    let expected = r#"site.yml:4:14: invalid YAML: unclosed quote
  |
4 |         msg: "unterminated
  |              ^"#;
    assert_text(&of("yaml_syntax"), expected);
}

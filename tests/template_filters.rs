//! Every filter, with the examples from Ansible's documentation (playbooks_filters.rst and the
//! filter plugins' EXAMPLES) where they exist.

use crate::common;

use common::*;
use serde_json::json;

#[test]
fn default_and_d() {
    assert_eq!(r("{{ missing | default(5) }}"), json!(5));
    assert_eq!(r("{{ missing | d('x') }}"), json!("x"));
    assert_eq!(r("{{ '' | default('x', true) }}"), json!("x"));
    assert_eq!(r("{{ '' | default('x', boolean=true) }}"), json!("x"));
    assert_eq!(r("{{ '' | default('x') }}"), json!(""));
    assert_eq!(
        rv("{{ x.nope | default(omit) }}", json!({"x": {}})),
        json!(clearfleet_template::OMIT)
    );
    assert_eq!(
        rv("{{ x.y | default(1) }}", json!({"x": {"y": null}})),
        json!(null)
    );
}

#[test]
fn bool_like_ansible() {
    for (s, want) in [
        ("'yes'", true),
        ("'Yes'", true),
        ("'on'", true),
        ("'1'", true),
        ("'true'", true),
        ("1", true),
        ("true", true),
        ("'no'", false),
        ("'off'", false),
        ("'0'", false),
        ("'false'", false),
        ("0", false),
        ("false", false),
        ("'y'", false),
        ("''", false),
        ("none", false),
        ("1.0", true),
    ] {
        assert_eq!(r(&format!("{{{{ {s} | bool }}}}")), json!(want), "{s}");
    }
}

#[test]
fn numbers_and_strings() {
    assert_eq!(r("{{ '42' | int }}"), json!(42));
    assert_eq!(r("{{ '42.7' | int }}"), json!(42));
    assert_eq!(r("{{ 'x' | int }}"), json!(0));
    assert_eq!(r("{{ 'x' | int(default=3) }}"), json!(3));
    assert_eq!(r("{{ '0x1F' | int(base=16) }}"), json!(31));
    assert_eq!(r("{{ '1_000' | int }}"), json!(1000));
    assert_eq!(r("{{ '3.5' | float }}"), json!(3.5));
    assert_eq!(r("{{ 'x' | float }}"), json!(0.0));
    assert_eq!(r("{{ 1 | string }}"), json!("1"));
    assert_eq!(r("{{ false | string }}"), json!("False"));
    assert_eq!(r("{{ 'AbC' | lower }}{{ 'AbC' | upper }}"), json!("abcABC"));
    assert_eq!(r("{{ 'hELLO' | capitalize }}"), json!("Hello"));
    assert_eq!(r("{{ ' x ' | trim }}"), json!("x"));
    assert_eq!(r("{{ 'a-b-c' | replace('-', '+') }}"), json!("a+b+c"));
    assert_eq!(r("{{ 'a,b' | split(',') }}"), json!(["a", "b"]));
    assert_eq!(r("{{ ' a  b ' | split }}"), json!(["a", "b"]));
    assert_eq!(r("{{ 'a b c' | split(' ', 1) }}"), json!(["a", "b c"]));
    assert_eq!(r("{{ [1, 'a', true] | join('-') }}"), json!("1-a-True"));
    assert_eq!(
        rv(
            "{{ u | join(',', attribute='n') }}",
            json!({"u": [{"n": 1}, {"n": 2}]})
        ),
        json!("1,2")
    );
}

#[test]
fn regex_filters_from_the_docs() {
    // YAML double-quoted strings deliver a single backslash to the template.
    assert_eq!(
        r(r"{{ 'ansible' | regex_replace('^a.*i(.*)$', 'a\1') }}"),
        json!("able")
    );
    assert_eq!(
        r(r"{{ 'foobar' | regex_replace('^f.*o(.*)$', '\1') }}"),
        json!("bar")
    );
    assert_eq!(
        r(
            r"{{ 'localhost:80' | regex_replace('^(?P<host>.+):(?P<port>\d+)$', '\g<host>, \g<port>') }}"
        ),
        json!("localhost, 80")
    );
    assert_eq!(
        r(r"{{ 'localhost:80' | regex_replace(':80') }}"),
        json!("localhost")
    );
    assert_eq!(
        r("{{ 'CAR' | regex_replace('a', 'b', ignorecase=true) }}"),
        json!("CbR")
    );
    assert_eq!(
        r("{{ 'a\nb' | regex_replace('^', '#', multiline=true) }}"),
        json!("#a\n#b")
    );
    assert_eq!(
        r("{{ 'aaa' | regex_replace('a', 'b', count=1) }}"),
        json!("baa")
    );
    assert!(
        rerr(
            "{{ 'aaa' | regex_replace('a', 'b', mandatory_count=2) }}",
            json!({})
        )
        .contains("should match 2 times")
    );
    assert_eq!(
        r("{{ 'server1/database42' | regex_search('database[0-9]+') }}"),
        json!("database42")
    );
    assert_eq!(
        r("{{ 'foo\nBAR' | regex_search('^bar', multiline=True, ignorecase=True) }}"),
        json!("BAR")
    );
    assert_eq!(
        r(
            r"{{ 'server1/database42' | regex_search('server([0-9]+)/database([0-9]+)', '\1', '\2') }}"
        ),
        json!(["1", "42"])
    );
    assert_eq!(
        r(
            r"{{ '21/42' | regex_search('(?P<dividend>[0-9]+)/(?P<divisor>[0-9]+)', '\g<dividend>', '\g<divisor>') }}"
        ),
        json!(["21", "42"])
    );
    assert_eq!(r("{{ 'ansible' | regex_search('foobar') }}"), json!(null));
    assert_eq!(
        r(
            r"{{ 'Some DNS servers are 8.8.8.8 and 8.8.4.4' | regex_findall('\b(?:[0-9]{1,3}\.){3}[0-9]{1,3}\b') }}"
        ),
        json!(["8.8.8.8", "8.8.4.4"])
    );
    assert_eq!(
        r(r"{{ 'a=1 b=2' | regex_findall('(\w)=(\d)') }}"),
        json!([["a", "1"], ["b", "2"]])
    );
    assert_eq!(
        r("{{ '^f.*o(.*)$' | regex_escape() }}"),
        json!(r"\^f\.\*o\(\.\*\)\$")
    );
    assert_eq!(
        r("{{ '^f.*o(.*)$' | regex_escape('posix_basic') }}"),
        json!(r"\^f\.\*o(\.\*)\$")
    );
    // Lookarounds are not supported by the regex crate: an error, never a wrong answer.
    assert!(
        rerr("{{ 'ab' | regex_search('a(?=b)') }}", json!({}))
            .contains("invalid regular expression")
    );
}

#[test]
fn json_and_yaml() {
    assert_eq!(
        r("{{ {'b': 1, 'a': [1, 2.5, none, true]} | to_json }}"),
        json!(r#"{"b": 1, "a": [1, 2.5, null, true]}"#)
    );
    assert_eq!(
        rv("{{ x | to_json }}", json!({"x": "é<"})),
        json!(r#""\u00e9<""#)
    );
    assert_eq!(
        rv("{{ x | to_json(ensure_ascii=false) }}", json!({"x": "é"})),
        json!("\"é\"")
    );
    assert_eq!(
        r("{{ {'b': 1, 'a': {}} | to_nice_json }}"),
        json!("{\n    \"a\": {},\n    \"b\": 1\n}")
    );
    assert_eq!(r("{{ [1] | to_nice_json(indent=2) }}"), json!("[\n  1\n]"));
    assert_eq!(
        r(r#"{{ '{"a": [1, 2]}' | from_json }}"#),
        json!({"a": [1, 2]})
    );
    assert_eq!(
        r("{{ {'b': {'x': 1}, 'a': 'hello world'} | to_nice_yaml }}"),
        json!("a: hello world\nb:\n    x: 1\n")
    );
    assert_eq!(
        r("{{ 'a: 1\nb: [x, z]' | from_yaml }}"),
        json!({"a": 1, "b": ["x", "z"]})
    );
    assert_eq!(
        r("{{ 'become: yes' | from_yaml }}"),
        json!({"become": true})
    );
    assert_eq!(r("{{ none | from_yaml }}"), json!(null));
    let y = r("{{ {'k': [1, 2]} | to_yaml }}");
    assert_eq!(
        rv("{{ y | from_yaml }}", json!({ "y": y })),
        json!({"k": [1, 2]})
    );
}

#[test]
fn encodings_paths_quote_hash() {
    assert_eq!(r("{{ 'Hello' | b64encode }}"), json!("SGVsbG8="));
    assert_eq!(r("{{ 'SGVsbG8=' | b64decode }}"), json!("Hello"));
    assert_eq!(r("{{ 'SGVs\nbG8=' | b64decode }}"), json!("Hello"));
    assert_eq!(r("{{ '/etc/asdf/foo.txt' | basename }}"), json!("foo.txt"));
    assert_eq!(r("{{ '/etc/asdf/foo.txt' | dirname }}"), json!("/etc/asdf"));
    assert_eq!(r("{{ 'foo' | dirname }}"), json!(""));
    assert_eq!(r("{{ '//' | dirname }}"), json!("//"));
    assert_eq!(
        r("{{ 'nginx.conf' | splitext }}"),
        json!(["nginx", ".conf"])
    );
    assert_eq!(r("{{ '.bashrc' | splitext }}"), json!([".bashrc", ""]));
    assert_eq!(
        rv("{{ x | quote }}", json!({"x": "x; touch /tmp/canary"})),
        json!("'x; touch /tmp/canary'")
    );
    assert_eq!(
        rv("echo {{ x | quote }}", json!({"x": "it's"})),
        json!("echo 'it'\"'\"'s'")
    );
    assert_eq!(r("{{ '' | quote }}"), json!("''"));
    assert_eq!(
        r("{{ 'test1' | hash('sha1') }}"),
        json!("b444ac06613fc8d63795be9ad0beaf55011936ac")
    );
    assert_eq!(
        r("{{ 'test1' | hash('md5') }}"),
        json!("5a105e8b9d40e1329780d62ea2265d8a")
    );
    assert_eq!(
        r("{{ 'test1' | hash }}"),
        json!("b444ac06613fc8d63795be9ad0beaf55011936ac")
    );
    assert_eq!(
        r("{{ 'test1' | checksum }}"),
        json!("b444ac06613fc8d63795be9ad0beaf55011936ac")
    );
    assert_eq!(
        r("{{ 'abc' | hash('sha256') }}"),
        json!("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    );
    assert!(rerr("{{ 'a' | hash('nope') }}", json!({})).contains("unsupported hash type"));
}

#[test]
fn combine_from_the_docs() {
    assert_eq!(
        r("{{ {'a':1, 'b':2} | combine({'b':3}) }}"),
        json!({"a": 1, "b": 3})
    );
    let default = json!({"a": {"x": "default", "y": "default"}, "b": "default", "c": "default"});
    let patch = json!({"a": {"y": "patch", "z": "patch"}, "b": "patch"});
    assert_eq!(
        rv(
            "{{ default | combine(patch) }}",
            json!({"default": default, "patch": patch})
        ),
        json!({"a": {"y": "patch", "z": "patch"}, "b": "patch", "c": "default"})
    );
    assert_eq!(
        rv(
            "{{ default | combine(patch, recursive=True) }}",
            json!({"default": default, "patch": patch})
        ),
        json!({"a": {"x": "default", "y": "patch", "z": "patch"}, "b": "patch", "c": "default"})
    );
    let vars = json!({"default": {"a": [1, 1, 2, 3], "b": [{"x": 1}]}, "patch": {"a": [3, 4, 5, 5], "b": [{"y": 2}]}});
    for (mode, a) in [
        ("replace", json!([3, 4, 5, 5])),
        ("keep", json!([1, 1, 2, 3])),
        ("append", json!([1, 1, 2, 3, 3, 4, 5, 5])),
        ("prepend", json!([3, 4, 5, 5, 1, 1, 2, 3])),
        ("append_rp", json!([1, 1, 2, 3, 4, 5, 5])),
        ("prepend_rp", json!([3, 4, 5, 5, 1, 1, 2])),
    ] {
        let got = rv(
            &format!("{{{{ (default | combine(patch, list_merge='{mode}')).a }}}}"),
            vars.clone(),
        );
        assert_eq!(got, a, "{mode}");
    }
    assert_eq!(
        r("{{ [{'a': 1}, {'b': 2}] | combine }}"),
        json!({"a": 1, "b": 2})
    );
    assert_eq!(
        r("{{ {'a': 1} | combine({'b': 2}, {'a': 3}) }}"),
        json!({"a": 3, "b": 2})
    );
    assert!(rerr("{{ {'a': 1} | combine(1) }}", json!({})).contains("expected dicts"));
}

#[test]
fn dict_list_filters() {
    assert_eq!(
        r("{{ {'a': 1, 'b': 2} | dict2items }}"),
        json!([{"key": "a", "value": 1}, {"key": "b", "value": 2}])
    );
    assert_eq!(
        r("{{ {'Name': 'x'} | dict2items(key_name='k', value_name='v') }}"),
        json!([{"k": "Name", "v": "x"}])
    );
    assert_eq!(
        r("{{ [{'key': 'a', 'value': 1}] | items2dict }}"),
        json!({"a": 1})
    );
    assert_eq!(
        r("{{ [{'k': 'a', 'v': 1}] | items2dict(key_name='k', value_name='v') }}"),
        json!({"a": 1})
    );
    assert_eq!(
        r("{{ [1, [2, [3, [4]]], none, 'null'] | flatten }}"),
        json!([1, 2, 3, 4])
    );
    assert_eq!(r("{{ [1, [2, [3]]] | flatten(1) }}"), json!([1, 2, [3]]));
    assert_eq!(
        r("{{ [1, [2, [3]]] | flatten(levels=1) }}"),
        json!([1, 2, [3]])
    );
    assert_eq!(
        r("{{ [1, none] | flatten(skip_nulls=false) }}"),
        json!([1, null])
    );
    assert_eq!(r("{{ [1, 2, 2, 'a', 'A'] | unique }}"), json!([1, 2, "a"]));
    assert_eq!(
        r("{{ true | ternary('restart', 'continue') }}"),
        json!("restart")
    );
    assert_eq!(r("{{ none | ternary('a', 'b', 'c') }}"), json!("c"));
    assert_eq!(r("{{ none | ternary('a', 'b') }}"), json!("b"));
    assert_eq!(rv("{{ x | mandatory }}", json!({"x": 1})), json!(1));
    assert_eq!(r("{{ 'abc' | length }}{{ [1, 2] | count }}"), json!("32"));
    assert_eq!(
        r("{{ [3, 1, 2] | first }}{{ [3, 1, 2] | last }}"),
        json!("32")
    );
    assert_eq!(r("{{ [3, 1, 2] | min }}{{ [3, 1, 2] | max }}"), json!("13"));
    assert_eq!(
        r("{{ [{'n': 2}, {'n': 1}] | min(attribute='n') }}"),
        json!({"n": 1})
    );
    assert_eq!(r("{{ [3, 1, 2] | sort }}"), json!([1, 2, 3]));
    assert_eq!(r("{{ [3, 1, 2] | sort(reverse=true) }}"), json!([3, 2, 1]));
    assert_eq!(r("{{ ['a'] | map('upper') | list }}"), json!(["A"]));
    assert_eq!(r("{{ [1, 2, 3] | select('odd') | list }}"), json!([1, 3]));
    assert_eq!(r("{{ [1, 2, 3] | reject('odd') | list }}"), json!([2]));
    assert_eq!(
        r("{{ ['a1', 'b2'] | select('match', 'a') | list }}"),
        json!(["a1"])
    );
    assert_eq!(
        r("{{ [{'a': 1}, {'a': 2}] | selectattr('a', 'version', '1.5', '>') | list }}"),
        json!([{"a": 2}])
    );
    assert_eq!(
        r("{{ [{'a': 1}, {'b': 2}] | selectattr('a', 'defined') | list }}"),
        json!([{"a": 1}])
    );
    assert_eq!(
        r("{{ [{'a': 1}, {'b': 2}] | rejectattr('a', 'defined') | list }}"),
        json!([{"b": 2}])
    );
    assert_eq!(r("{{ 'ab' | list }}"), json!(["a", "b"]));
    assert_eq!(r("{{ dict([['a', 1]]) }}"), json!({"a": 1}));
    assert_eq!(r("{{ dict(a=1) }}"), json!({"a": 1}));
    assert_eq!(
        r("{{ [1, 2, 3] | zip(['a', 'b']) }}"),
        json!([[1, "a"], [2, "b"]])
    );
    assert_eq!(
        r("{{ dict(['a', 'b'] | zip([1, 2])) }}"),
        json!({"a": 1, "b": 2})
    );
    assert_eq!(
        r("{{ [1, 2, 5, 1, 3, 4, 10] | difference([1, 2, 3, 4, 5, 11, 99]) }}"),
        json!([10])
    );
    assert_eq!(
        r("{{ [1, 2, 5, 3, 4, 10] | intersect([1, 2, 3, 4, 5, 11, 99]) }}"),
        json!([1, 2, 5, 3, 4])
    );
    assert_eq!(
        r("{{ [1, 2, 5, 1, 3, 4, 10] | union([1, 2, 3, 4, 5, 11, 99]) }}"),
        json!([1, 2, 5, 3, 4, 10, 11, 99])
    );
    assert_eq!(
        r("{{ [1, 2, 5, 1, 3, 4, 10] | symmetric_difference([1, 2, 3, 4, 5, 11, 99]) }}"),
        json!([10, 11, 99])
    );
    assert_eq!(r("{{ 1 | type_debug }}"), json!("int"));
}

#[test]
fn native_types_and_string_context() {
    assert_eq!(r("{{ [1, 2] }}"), json!([1, 2]));
    assert_eq!(r("{{ 3 }}"), json!(3));
    assert_eq!(r("{{- 3 -}}"), json!(3));
    assert_eq!(r("x{{ 3 }}"), json!("x3"));
    assert_eq!(r(" {{ 3 }}"), json!(" 3"));
    assert_eq!(r("{{ '3' }}"), json!("3"));
    assert_eq!(rv("{{ x }}", json!({"x": null})), json!(null));
    assert_eq!(rv("a{{ x }}b", json!({"x": null})), json!("ab"));
    assert_eq!(
        r("{{ true }} {{ 1.0 }} {{ [1, 'a', none, false] }} {{ {'a': 'b'} }}"),
        json!("True 1.0 [1, 'a', None, False] {'a': 'b'}")
    );
    assert_eq!(r("{{ 'a }} {{ b' }}"), json!("a }} {{ b"));
    assert_eq!(r("{% if true %}\nx\n{% endif %}\n"), json!("x\n"));
    assert_eq!(r("plain text"), json!("plain text"));
}

#[test]
fn render_str_and_is_template() {
    use clearfleet_template::Templates;
    let mut t = Templates::new();
    let id = t.compile("{{ [1, 2] }}", origin()).expect("compiles");
    assert_eq!(t.render_str(id, &json!({})).expect("renders"), "[1, 2]");
    assert!(Templates::is_template("a {{ b }}"));
    assert!(Templates::is_template("{% if %}"));
    assert!(Templates::is_template("{# c #}"));
    assert!(!Templates::is_template("a { b }"));
}

#[test]
fn no_auto_escaping_for_any_name() {
    let t = clearfleet_template::Templates::new();
    for name in ["vars.yml", "x.json", "index.html", "a.js"] {
        let out = t
            .render_file(name, "{{ v }}", &json!({"v": "<a> & \"b\""}))
            .expect("renders");
        assert_eq!(out, "<a> & \"b\"", "{name}");
    }
}

#[test]
fn context_is_reusable() {
    use clearfleet_template::Templates;
    let mut t = Templates::new();
    let a = t.compile("{{ x + 1 }}", origin()).expect("compiles");
    let ctx = Templates::context(&json!({"x": 1}));
    assert_eq!(t.render_ctx(a, &ctx).expect("renders"), json!(2));
    assert_eq!(t.render_ctx(a, &ctx).expect("renders"), json!(2));
}

#[test]
fn templates_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<clearfleet_template::Templates>();
}

#[test]
fn python_percent_formatting() {
    assert_eq!(r("{{ '%s:%s' % ('a', 1) }}"), json!("a:1"));
    assert_eq!(r("{{ '%d items' % 3 }}"), json!("3 items"));
    assert_eq!(r("{{ '%(a)s' % {'a': 1} }}"), json!("1"));
    assert_eq!(
        r("{{ '%5.1f|%-4s|%03d' % (3.14159, 'ab', 7) }}"),
        json!("  3.1|ab  |007")
    );
    assert_eq!(
        r("{{ '%x|%X|%#x|%o' % (255, 255, 255, 8) }}"),
        json!("ff|FF|0xff|10")
    );
    assert_eq!(
        r("{{ '%e|%g|%g|%G' % (12345.678, 0.00001234, 123456789.0, 1e20) }}"),
        json!("1.234568e+04|1.234e-05|1.23457e+08|1E+20")
    );
    assert_eq!(
        r("{{ '%s|%s|%r' % (none, true, 'x') }}"),
        json!("None|True|'x'")
    );
    assert_eq!(r("{{ '%d%%' % 50 }}"), json!("50%"));
    assert_eq!(
        rv("{{ 'v=%s' % x.y ~ '!' }}", json!({"x": {"y": 1}})),
        json!("v=1!")
    );
    assert_eq!(r("{{ 10 % 3 }}"), json!(1));
    assert!(rerr("{{ '%s %s' % ('a',) }}", json!({})).contains("not enough arguments"));
}

#[test]
fn ansible_builtin_names() {
    assert_eq!(
        rv("{{ x | ansible.builtin.to_json }}", json!({"x": "v"})),
        json!("\"v\"")
    );
    assert_eq!(
        r("{{ missing | ansible.builtin.default('d') }}"),
        json!("d")
    );
    assert!(c("'2' is ansible.builtin.version('1', '>')", json!({})));
    assert!(c("x is ansible.legacy.defined", json!({"x": 1})));
}

#[test]
fn undefined_chains_like_ansible() {
    assert_eq!(r("{{ missing.attr | default('d') }}"), json!("d"));
    assert_eq!(r("{{ missing.a.b['c'][0] | d('d') }}"), json!("d"));
    assert_eq!(
        rv(
            "{{ x[k].z | default('d') }}",
            json!({"x": {"a": {"z": 2}}, "k": "a"})
        ),
        json!(2)
    );
    assert_eq!(
        rv("{{ n.attr | default('d') }}", json!({"n": null})),
        json!("d")
    );
    assert_eq!(r("{{ missing.attr is defined }}"), json!(false));
    assert_eq!(
        r("{% if missing.attr is not defined %}n{% endif %}"),
        json!("n")
    );
    assert!(c(
        "x.y is defined and x.y.z is undefined",
        json!({"x": {"y": {}}})
    ));
    assert!(rerr("{{ missing.attr }}", json!({})).contains("'missing' is undefined"));
    assert!(rerr("{{ missing.attr | upper }}", json!({})).contains("'missing' is undefined"));
}

#[test]
fn backslashes_in_field_literals_are_kept() {
    assert_eq!(r(r"{{ 'a\nb' }}"), json!(r"a\nb"));
    assert_eq!(r(r"{{ 'it\'s' }}"), json!(r"it\'s"));
    // Statements and conditionals unescape as Jinja does.
    assert_eq!(r(r"{% set v = 'a\tb' %}{{ v | length }}"), json!(3));
    assert!(c(r"'x1' is search('\d')", json!({})));
    let t = clearfleet_template::Templates::new();
    assert_eq!(
        t.render_file("f.j2", r"{{ 'a\tb' }}", &json!({})).ok(),
        Some("a\tb".to_owned())
    );
}

#[test]
fn native_single_node_templates() {
    assert_eq!(r("{% if true %}{{ [1] }}{% endif %}"), json!([1]));
    assert_eq!(r("{% if false %}x{% endif %}"), json!(null));
    assert_eq!(r("{% for i in [1] %}{{ i }}{% endfor %}"), json!(1));
    assert_eq!(r("{% for i in [1, 2] %}{{ i }}{% endfor %}"), json!("12"));
    assert_eq!(r("{% if true %}{{ 'a' }}{% endif %}\n"), json!("a\n"));
    assert_eq!(r("{% set x = 5 %}{{ x }}"), json!(5));
}

#[test]
fn more_filters() {
    assert_eq!(
        r("{{ 'x' | center(5) }}|{{ 'x' | center(6) }}|{{ 'xy' | center(5) }}"),
        json!("  x  |  x   |  xy ")
    );
    assert_eq!(r("{{ 'a b_c d-e' | wordcount }}"), json!(4));
    assert_eq!(
        r("{{ 'a b/c?d=é' | urlencode }}"),
        json!("a%20b/c%3Fd%3D%C3%A9")
    );
    assert_eq!(
        r("{{ {'a': 'x y', 'b': '&'} | urlencode }}"),
        json!("a=x+y&b=%26")
    );
    assert_eq!(
        r("{{ ['a', 'b'] | zip_longest([1]) | list }}"),
        json!([["a", 1], ["b", null]])
    );
    assert_eq!(
        r("{{ ['a'] | zip_longest([1, 2], fillvalue='-') | list }}"),
        json!([["a", 1], ["-", 2]])
    );
    assert_eq!(r("{{ 5 | pow(2) }}"), json!(25.0));
    assert_eq!(r("{{ 100 | log(10) }}"), json!(2.0));
    assert_eq!(r("{{ 9 | root }}"), json!(3.0));
    assert_eq!(
        r("{{ [1, 2] | product(['a']) | list }}"),
        json!([[1, "a"], [2, "a"]])
    );
    assert_eq!(
        r("{{ 'a: 1\n---\nb: 2\n' | from_yaml_all | list }}"),
        json!([{"a": 1}, {"b": 2}])
    );
    assert_eq!(
        r("{{ 'a: yes\nb: y\nc: 0755\nd: 1e3' | from_yaml }}"),
        json!({"a": true, "b": "y", "c": 493, "d": "1e3"})
    );
    assert_eq!(
        r("{{ {'l': ['é', 'yes', 'a: b']} | to_yaml }}"),
        json!("l: [é, 'yes', 'a: b']\n")
    );
    assert_eq!(r("{{ 'ab\n' | regex_search('b$') }}"), json!("b"));
}

#[test]
fn seeded_random_matches_cpython() {
    // Values from ansible-core 2.19 / CPython 3.11.
    assert_eq!(r("{{ 59 | random(seed='web1.example.com') }}"), json!(31));
    assert_eq!(
        r("{{ [1, 2, 3, 4, 5, 6, 7] | shuffle(seed='web1') }}"),
        json!([4, 2, 1, 5, 6, 3, 7])
    );
    assert_eq!(
        r("{{ ['a', 'b', 'c', 'd'] | random(seed='web1') }}"),
        json!("c")
    );
    assert_eq!(
        r("{{ 5000000000 | random(seed='x') }}"),
        json!(2_709_212_627_u64)
    );
    assert_eq!(r("{{ 5 | random in range(5) }}"), json!(true));
    assert!(rerr("{{ [] | random }}", json!({})).contains("empty sequence"));
}

#[test]
fn chain_rewrite_sees_loop_variables_and_namespaces() {
    assert_eq!(
        rv(
            "{% for item in l %}{{ item.name | default('-') }},{% endfor %}",
            json!({"l": [{"name": "a"}, {}]})
        ),
        json!("a,-,")
    );
    assert_eq!(
        r("{% set ns = namespace(x=1) %}{{ ns.x | default(0) }}{{ ns.y | default(0) }}"),
        json!("10")
    );
    assert_eq!(
        rv(
            "{% for k, v in d.items() %}{{ v.port | default(80) }}{% endfor %}",
            json!({"d": {"a": {}}})
        ),
        json!(80)
    );
}

#[test]
fn extract_and_subelements() {
    let hv = json!({"groups": {"web": ["a", "b"]}, "hostvars": {"a": {"ansible_host": "10.0.0.1"}, "b": {"ansible_host": "10.0.0.2"}}});
    assert_eq!(
        rv(
            "{{ groups['web'] | map('extract', hostvars, 'ansible_host') | list }}",
            hv
        ),
        json!(["10.0.0.1", "10.0.0.2"])
    );
    assert_eq!(
        rv("{{ 'a' | extract(d) }}", json!({"d": {"a": 1}})),
        json!(1)
    );
    let users =
        json!({"users": [{"name": "u1", "groups": ["g1", "g2"]}, {"name": "u2", "groups": []}]});
    assert_eq!(
        rv(
            "{{ users | subelements('groups') | map('last') | list }}",
            users
        ),
        json!(["g1", "g2"])
    );
    assert!(rerr("{{ [{'n': 1}] | subelements('groups') }}", json!({})).contains("could not find"));
    assert_eq!(
        r("{{ [{'n': 1}] | subelements('groups', skip_missing=true) }}"),
        json!([])
    );
}

#[test]
fn now_formats_like_python_strftime() {
    // `%f` is six digits of microseconds, as Python's; `%s` the epoch seconds.
    assert_eq!(r("{{ now(fmt='%f') | length }}"), json!(6));
    assert_eq!(
        r("{{ now(fmt='%s.%f') is match('^[0-9]{10}[.][0-9]{6}$') }}"),
        json!(true)
    );
    assert_eq!(r("{{ now(true, '%%Y') }}"), json!("%Y"));
    assert_eq!(
        r("{{ now() is match('^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8}[.][0-9]{6}$') }}"),
        json!(true)
    );
}

#[test]
fn list_index_like_python() {
    assert_eq!(r("{{ ['a', 'b', 'c'].index('b') }}"), json!(1));
    assert_eq!(r("{{ [1, 2, 1, 2].index(2, 2) }}"), json!(3));
    assert_eq!(r("{{ [1, 2, 1, 2].index(1, -2, 4) }}"), json!(2));
    // pycompat's methods still answer.
    assert_eq!(r("{{ [1, 2, 1].count(1) }}"), json!(2));
    let e = render("{{ ['a'].index('z') }}", json!({})).map_err(|e| e.to_string());
    assert!(
        e.as_ref().is_err_and(|e| e.contains("'z' is not in list")),
        "{e:?}"
    );
}

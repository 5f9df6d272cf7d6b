//! `prepare_multipart`'s output, as Python 3 and ansible-core 2.19.14 printed it, against
//! [`super::encode`].

use serde_json::json;

use super::*;

#[test]
fn body_matches_prepare_multipart() {
    let body = json!({
        "z": "text é val\nl2",
        "f": {"filename": "/tmp/mp_a.txt"},
        "c": {"content": "inline", "filename": "x y\"q.json"},
        "e": {"filename": "/tmp/mp_cr.txt", "multipart_encoding": "7or8bit", "mime_type": "text/x-foo"},
        "n": {"content": "ab", "mime_type": "weird"},
        "u": {"content": "é", "filename": "é.bin"},
    });
    let mut fs = fields(Some(&body)).expect("fields");
    for f in &mut fs {
        match f.file.as_ref().map(|(p, _)| p.as_str()) {
            Some("/tmp/mp_a.txt") => f.data = b"hello\nworld\n".to_vec(),
            Some("/tmp/mp_cr.txt") => f.data = b"x\r\ny\rz".to_vec(),
            Some(other) => panic!("unexpected file {other}"),
            None => {}
        }
    }
    let b = "===============2784941692782804277==";
    let want = format!(
        "--{b}\r\nContent-Type: application/json\r\nContent-Disposition: form-data; name=\"c\"; filename=\"x y\\\"q.json\"\r\n\r\ninline\r\n\
         --{b}\r\nContent-Transfer-Encoding: 7bit\r\nContent-Type: text/x-foo\r\nContent-Disposition: form-data; name=\"e\"; filename=\"mp_cr.txt\"\r\n\r\nx\r\ny\r\nz\r\n\
         --{b}\r\nContent-Transfer-Encoding: base64\r\nContent-Type: text/plain\r\nContent-Disposition: form-data; name=\"f\"; filename=\"mp_a.txt\"\r\n\r\naGVsbG8Kd29ybGQK\r\n\r\n\
         --{b}\r\nContent-Type: weird/\r\nContent-Disposition: form-data; name=\"n\"\r\n\r\nab\r\n\
         --{b}\r\nContent-Type: application/octet-stream\r\nContent-Disposition: form-data; name=\"u\"; filename*=utf-8''%C3%A9.bin\r\n\r\né\r\n\
         --{b}\r\nContent-Type: text/plain\r\nContent-Disposition: form-data; name=\"z\"\r\n\r\ntext é val\r\nl2\r\n\
         --{b}--\r\n"
    );
    assert_eq!(String::from_utf8_lossy(&encode(&fs, b)), want);
    assert_eq!(
        content_type(b),
        "multipart/form-data; boundary=\"===============2784941692782804277==\""
    );
}

#[test]
fn long_base64_wraps_at_76() {
    let f = Field {
        name: "f".into(),
        filename: Some("d".into()),
        mime: "application/octet-stream".into(),
        data: vec![0u8; 60],
        file: Some(("d".into(), true)),
    };
    let out = String::from_utf8_lossy(&encode(&[f], "B")).into_owned();
    assert!(
        out.contains(&format!(
            "\r\n\r\n{}\r\n{}\r\n\r\n--B--",
            "A".repeat(76),
            "AAAA"
        )),
        "{out}"
    );
}

#[test]
fn bad_bodies_fail_as_ansible() {
    assert_eq!(
        fields(Some(&json!(["a"]))),
        Err(MultipartError::NotMapping("list"))
    );
    assert_eq!(fields(None), Err(MultipartError::NotMapping("NoneType")));
    assert_eq!(
        MultipartError::NotMapping("list").to_string(),
        "body must be mapping, cannot be type _AnsibleTaggedList"
    );
    assert_eq!(
        MultipartError::NotMapping("NoneType").to_string(),
        "body must be mapping, cannot be type NoneType"
    );
    assert_eq!(
        fields(Some(&json!({"a": 1}))),
        Err(MultipartError::BadValue("int"))
    );
    assert_eq!(
        fields(Some(&json!({"a": {"mime_type": "x/y"}}))),
        Err(MultipartError::Empty)
    );
    assert_eq!(
        fields(Some(
            &json!({"a": {"filename": "f", "multipart_encoding": "qp"}})
        )),
        Err(MultipartError::Encoding)
    );
}

#[test]
fn an_empty_mapping_is_one_empty_part() {
    let fs = fields(Some(&json!({}))).expect("fields");
    assert_eq!(encode(&fs, "B"), b"--B\r\n\r\n--B--\r\n".to_vec());
}

//! The vault envelope: a header line `$ANSIBLE_VAULT;1.1;AES256` (or `1.2;AES256;LABEL`) over
//! the hexlified vaulttext in lines of 80, as `parse_vaulttext_envelope` and
//! `format_vaulttext_envelope` of ansible-core read and write it.

/// The first bytes of every vault-encrypted text.
pub const HEADER: &str = "$ANSIBLE_VAULT";

/// A parsed envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    pub version: String,
    pub cipher: String,
    /// The label of a `1.2` envelope (`--vault-id LABEL@...`).
    pub vault_id: Option<String>,
    /// The vaulttext: the lines after the header, joined.
    pub vaulttext: Vec<u8>,
}

/// Whether `data` is vault-encrypted (ASCII that starts with [`HEADER`]), as `is_encrypted`.
pub fn is_encrypted(data: &[u8]) -> bool {
    data.is_ascii() && data.starts_with(HEADER.as_bytes())
}

/// Parses an envelope; `None` when the header has fewer than three fields.
pub fn parse(text: &[u8]) -> Option<Envelope> {
    let mut lines = text
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let header = std::str::from_utf8(lines.next()?).ok()?.trim();
    let fields: Vec<&str> = header.split(';').map(str::trim).collect();
    let (version, cipher) = (fields.get(1)?, fields.get(2)?);
    let vaulttext = lines.flat_map(|l| l.trim_ascii().iter().copied()).collect();
    Some(Envelope {
        version: (*version).to_owned(),
        cipher: (*cipher).to_owned(),
        vault_id: fields.get(3).map(|s| (*s).to_owned()),
        vaulttext,
    })
}

/// The envelope text for `vaulttext`: `1.2` with the label when `vault_id` is given and not
/// `default`, else `1.1`; a final newline, as ansible-vault writes it.
pub fn format(vaulttext: &str, vault_id: Option<&str>) -> String {
    let mut out = match vault_id.filter(|id| !id.is_empty() && *id != "default") {
        Some(id) => format!("{HEADER};1.2;AES256;{id}"),
        None => format!("{HEADER};1.1;AES256"),
    };
    for chunk in vaulttext.as_bytes().chunks(80) {
        out.push('\n');
        out.push_str(&String::from_utf8_lossy(chunk));
    }
    out.push('\n');
    out
}

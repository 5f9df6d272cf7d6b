//! bcrypt (`$2b$` and its older idents) on the `bcrypt` crate's raw function (RustCrypto's
//! blowfish underneath), with the salt handling and output of passlib's `passlib.handlers.bcrypt`
//! (`bcrypt64`: standard bit order, the alphabet `./A-Za-z0-9`, 22 salt characters whose last
//! one carries 4 unused bits that passlib clears: `repair_unused`).

use base64::Engine as _;
use base64::alphabet::BCRYPT;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

/// passlib's `bcrypt64.charmap`: the characters of a bcrypt salt.
pub(crate) const CHARS: &str = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// bcrypt64 without padding; decoding ignores the last character's unused bits.
const B64: GeneralPurpose = GeneralPurpose::new(
    &BCRYPT,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone),
);

/// The 16 bytes of a 22-character salt (`None` for another length or a character outside
/// [`CHARS`]).
pub(crate) fn salt_bytes(salt: &str) -> Option<[u8; 16]> {
    let bytes = B64.decode(salt).ok()?;
    bytes.try_into().ok()
}

/// passlib's `bcrypt64.repair_unused`: the salt with its last character's unused bits cleared.
pub(crate) fn repaired(salt: &[u8; 16]) -> String {
    B64.encode(salt)
}

/// The hash string: `$<ident>$<cost>$<salt><checksum>`. `ident` is `2`, `2a`, `2y` or `2b`,
/// `cost` within 4..=31, `password` free of NUL bytes (all checked by the caller).
pub(crate) fn hash(password: &[u8], salt: &[u8; 16], cost: u32, ident: &str) -> String {
    // The key: at most 72 bytes; every ident but the original `2` appends a NUL (OpenBSD's
    // `key_len = strlen(key) + (minor >= 'a')`); an empty key is one NUL.
    let mut key: Vec<u8> = password.iter().copied().take(72).collect();
    if (ident != "2" || key.is_empty()) && key.len() < 72 {
        key.push(0);
    }
    let raw = bcrypt::bcrypt(cost, *salt, &key);
    format!(
        "${ident}${cost:02}${}{}",
        repaired(salt),
        B64.encode(&raw[..23])
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn salt_round_trip_clears_the_unused_bits() {
        let s = salt_bytes("abcdefghijklmnopqrstuv").unwrap_or_default();
        assert_eq!(repaired(&s), "abcdefghijklmnopqrstuu");
        assert!(salt_bytes("abcdefghijklmnopqrst").is_none());
        assert!(salt_bytes("abcdefghijklmnopqrs!uv").is_none());
    }
}

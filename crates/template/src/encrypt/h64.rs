//! The crypt(3) flavour of base64 that md5-crypt and SHA-crypt print their checksums in
//! (passlib's `passlib.utils.binary.h64`): the alphabet `./0-9A-Za-z`, each group of three
//! bytes read little-endian, least significant six bits first.

/// passlib's `HASH64_CHARS`: the alphabet, and the characters a salt may hold.
pub(crate) const CHARS: &str = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// passlib's `h64.encode_bytes`: little-endian groups, no padding.
fn encode(bytes: &[u8]) -> String {
    let alphabet = CHARS.as_bytes();
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let v = chunk
            .iter()
            .rev()
            .fold(0u32, |acc, &b| (acc << 8) | u32::from(b));
        // One byte gives two characters, two give three, three give four.
        for i in 0..=chunk.len() {
            let six = (v >> (6 * i)) & 0x3f;
            out.push(char::from(alphabet[six as usize]));
        }
    }
    out
}

/// passlib's `h64.encode_transposed_bytes`: `bytes` reordered by `map`, then encoded.
pub(crate) fn encode_transposed(bytes: &[u8], map: &[usize]) -> String {
    let ordered: Vec<u8> = map.iter().filter_map(|&i| bytes.get(i).copied()).collect();
    encode(&ordered)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn little_endian_groups() {
        assert_eq!(encode(&[0, 0, 0]), "....");
        assert_eq!(encode(&[1]), "/.");
        assert_eq!(encode(&[0xff, 0xff, 0xff]), "zzzz");
        assert_eq!(encode(&[0x40, 0, 0]), "./..");
    }
}

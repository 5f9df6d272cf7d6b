//! md5-crypt (`$1$`), as passlib's `passlib.handlers.md5_crypt._raw_md5_crypt` computes it:
//! no RustCrypto crate implements it, and the algorithm is small.

use super::h64;

/// passlib's `_transpose_map` for md5-crypt's 16 digest bytes.
const TRANSPOSE: [usize; 16] = [12, 6, 0, 13, 7, 1, 14, 8, 2, 15, 9, 3, 5, 10, 4, 11];

fn md5(parts: &[&[u8]]) -> [u8; 16] {
    let mut ctx = md5::Context::new();
    for p in parts {
        ctx.consume(p);
    }
    ctx.finalize().0
}

/// The checksum (22 characters) of `password` with `salt` (at most 8 characters, checked by
/// the caller).
pub(crate) fn checksum(password: &[u8], salt: &[u8]) -> String {
    const MAGIC: &[u8] = b"$1$";
    let db = md5(&[password, salt, password]);
    let mut a = md5::Context::new();
    a.consume(password);
    a.consume(MAGIC);
    a.consume(salt);
    // As many bytes of `db` as the password is long, `db` repeated.
    for chunk in password.chunks(16) {
        a.consume(&db[..chunk.len()]);
    }
    // For each bit of the length: a NUL where it is set, the password's first byte where not.
    let first = password.get(..1).unwrap_or_default();
    let mut i = password.len();
    while i > 0 {
        a.consume(if i & 1 == 1 { &[0u8][..] } else { first });
        i >>= 1;
    }
    let mut result = a.finalize().0;
    for i in 0..1000 {
        let odd = i % 2 == 1;
        let mut parts: Vec<&[u8]> = Vec::with_capacity(4);
        parts.push(if odd { password } else { &result });
        if i % 3 != 0 {
            parts.push(salt);
        }
        if i % 7 != 0 {
            parts.push(password);
        }
        parts.push(if odd { &result } else { password });
        result = md5(&parts);
    }
    h64::encode_transposed(&result, &TRANSPOSE)
}

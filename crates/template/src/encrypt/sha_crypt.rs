//! SHA-256-crypt (`$5$`) and SHA-512-crypt (`$6$`) checksums: RustCrypto's `sha-crypt` computes
//! the digest; the transposition and the encoding are passlib's
//! (`passlib.handlers.sha2_crypt`: `_256_transpose_map`, `_512_transpose_map`, `h64`).

use sha_crypt::Params;

use super::h64;

const TRANSPOSE_256: [usize; 32] = [
    20, 10, 0, 11, 1, 21, 2, 22, 12, 23, 13, 3, 14, 4, 24, 5, 25, 15, 26, 16, 6, 17, 7, 27, 8, 28,
    18, 29, 19, 9, 30, 31,
];
const TRANSPOSE_512: [usize; 64] = [
    42, 21, 0, 1, 43, 22, 23, 2, 44, 45, 24, 3, 4, 46, 25, 26, 5, 47, 48, 27, 6, 7, 49, 28, 29, 8,
    50, 51, 30, 9, 10, 52, 31, 32, 11, 53, 54, 33, 12, 13, 55, 34, 35, 14, 56, 57, 36, 15, 16, 58,
    37, 38, 17, 59, 60, 39, 18, 19, 61, 40, 41, 20, 62, 63,
];

/// The SHA width.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Width {
    Sha256,
    Sha512,
}

/// The checksum of `password` with `salt` (at most 16 characters) and `params`' rounds.
pub(crate) fn checksum(width: Width, password: &[u8], salt: &[u8], params: Params) -> String {
    match width {
        Width::Sha256 => h64::encode_transposed(
            &sha_crypt::sha256_crypt(password, salt, params),
            &TRANSPOSE_256,
        ),
        Width::Sha512 => h64::encode_transposed(
            &sha_crypt::sha512_crypt(password, salt, params),
            &TRANSPOSE_512,
        ),
    }
}

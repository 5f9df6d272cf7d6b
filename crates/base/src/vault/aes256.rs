//! The one cipher of Ansible Vault, `AES256` (ansible-core's `VaultAES256`): keys from
//! PBKDF2-HMAC-SHA256 (10000 rounds), AES-256 in CTR mode over PKCS#7-padded text, and an
//! HMAC-SHA256 of the ciphertext checked in constant time before anything is decrypted.

use aes::Aes256;
use ctr::cipher::{KeyIvInit, StreamCipher};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// ansible-core's PBKDF2 round count.
const ROUNDS: u32 = 10_000;
const KEY_LEN: usize = 32;
const IV_LEN: usize = 16;
const BLOCK: usize = 16;

/// AES-256 in CTR mode with a 128-bit big-endian counter (the `cryptography` package's `CTR`).
type Aes256Ctr = ctr::Ctr128BE<Aes256>;

/// Why a vaulttext does not decrypt with one password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CipherError {
    /// The HMAC does not match: a wrong password, or tampered data.
    #[error("HMAC verification failed")]
    Hmac,
    /// The HMAC matched but the padding is wrong (data encrypted by something else).
    #[error("invalid padding")]
    Padding,
    /// The vaulttext is not `hex(hex(salt) \n hex(hmac) \n hex(ciphertext))`.
    #[error("Vault format unhexlify error")]
    Format,
}

/// The cipher key, the HMAC key and the counter's first block, derived from the password.
struct Keys {
    cipher: [u8; KEY_LEN],
    mac: [u8; KEY_LEN],
    iv: [u8; IV_LEN],
}

fn keys(password: &[u8], salt: &[u8]) -> Keys {
    let mut derived = [0u8; 2 * KEY_LEN + IV_LEN];
    pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, ROUNDS, &mut derived);
    let mut k = Keys {
        cipher: [0; KEY_LEN],
        mac: [0; KEY_LEN],
        iv: [0; IV_LEN],
    };
    k.cipher.copy_from_slice(&derived[..KEY_LEN]);
    k.mac.copy_from_slice(&derived[KEY_LEN..2 * KEY_LEN]);
    k.iv.copy_from_slice(&derived[2 * KEY_LEN..]);
    k
}

fn mac(key: &[u8]) -> Hmac<Sha256> {
    // HMAC takes a key of any length: this cannot fail for 32 bytes.
    <Hmac<Sha256> as KeyInit>::new_from_slice(key).unwrap_or_else(|_| unreachable!())
}

fn apply_ctr(k: &Keys, data: &mut [u8]) {
    let mut c = Aes256Ctr::new(&k.cipher.into(), &k.iv.into());
    c.apply_keystream(data);
}

/// Encrypts `plaintext` with `password` and `salt`: the vaulttext (the hexlified body of the
/// envelope, one line), as `VaultAES256.encrypt` makes it.
pub fn encrypt(plaintext: &[u8], password: &[u8], salt: &[u8]) -> String {
    let k = keys(password, salt);
    let pad = BLOCK - plaintext.len() % BLOCK;
    let mut data = plaintext.to_vec();
    data.extend(std::iter::repeat_n(u8::try_from(pad).unwrap_or(16), pad));
    apply_ctr(&k, &mut data);
    let mut m = mac(&k.mac);
    m.update(&data);
    let tag = m.finalize().into_bytes();
    let inner = format!(
        "{}\n{}\n{}",
        hex::encode(salt),
        hex::encode(tag),
        hex::encode(&data)
    );
    hex::encode(inner)
}

/// Decrypts a vaulttext (the envelope's body with its line breaks removed) with `password`.
/// The HMAC is verified, in constant time, before any decryption.
pub fn decrypt(vaulttext: &[u8], password: &[u8]) -> Result<Vec<u8>, CipherError> {
    let Parts {
        salt,
        tag,
        mut data,
    } = parse(vaulttext)?;
    let k = keys(password, &salt);
    let mut m = mac(&k.mac);
    m.update(&data);
    m.verify_slice(&tag).map_err(|_| CipherError::Hmac)?;
    apply_ctr(&k, &mut data);
    let pad = usize::from(*data.last().ok_or(CipherError::Padding)?);
    if pad == 0 || pad > BLOCK || pad > data.len() {
        return Err(CipherError::Padding);
    }
    let keep = data.len() - pad;
    if data[keep..].iter().any(|&b| usize::from(b) != pad) {
        return Err(CipherError::Padding);
    }
    data.truncate(keep);
    Ok(data)
}

/// The three fields of a vaulttext.
struct Parts {
    salt: Vec<u8>,
    tag: Vec<u8>,
    data: Vec<u8>,
}

/// The salt, HMAC and ciphertext of a vaulttext (`_parse_vaulttext`).
fn parse(vaulttext: &[u8]) -> Result<Parts, CipherError> {
    let inner = hex::decode(vaulttext).map_err(|_| CipherError::Format)?;
    let mut parts = inner.splitn(3, |&b| b == b'\n');
    let (Some(salt), Some(tag), Some(data)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(CipherError::Format);
    };
    let salt = hex::decode(salt).map_err(|_| CipherError::Format)?;
    let tag = hex::decode(tag).map_err(|_| CipherError::Format)?;
    let data = hex::decode(data).map_err(|_| CipherError::Format)?;
    if data.is_empty() || data.len() % BLOCK != 0 {
        return Err(CipherError::Format);
    }
    Ok(Parts { salt, tag, data })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// PBKDF2-HMAC-SHA256 from RFC 7914 section 11 (c = 1, dkLen = 64): the KDF is the one
    /// the standard defines.
    #[test]
    fn pbkdf2_known_answer() {
        let mut out = [0u8; 64];
        pbkdf2::pbkdf2_hmac::<Sha256>(b"passwd", b"salt", 1, &mut out);
        assert_eq!(
            hex::encode(out),
            "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc\
             49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783"
        );
    }

    /// AES-256-CTR from NIST SP 800-38A F.5.5 (first block).
    #[test]
    fn aes256_ctr_known_answer() -> Result<(), hex::FromHexError> {
        let key = hex::decode("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4")?;
        let iv = hex::decode("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff")?;
        let mut block = hex::decode("6bc1bee22e409f96e93d7e117393172a")?;
        let mut c = Aes256Ctr::new_from_slices(&key, &iv)
            .map_err(|_| hex::FromHexError::InvalidStringLength)?;
        c.apply_keystream(&mut block);
        assert_eq!(hex::encode(block), "601ec313775789a5b7a7f504bbf3d228");
        Ok(())
    }

    #[test]
    fn round_trip_and_padding_of_every_length() {
        for n in [0, 1, 15, 16, 17, 31, 32, 33] {
            let text: Vec<u8> = (0..n).map(|i| u8::try_from(i).unwrap_or(0)).collect();
            let v = encrypt(&text, b"pw", b"salt");
            assert_eq!(decrypt(v.as_bytes(), b"pw"), Ok(text), "length {n}");
            assert_eq!(decrypt(v.as_bytes(), b"px"), Err(CipherError::Hmac));
        }
    }
}

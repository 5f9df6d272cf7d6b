//! `random` and `shuffle`: with a `seed`, the same numbers as CPython's `random.Random(seed)`
//! (MT19937, Python's string seeding), so `59 | random(seed=inventory_hostname)` picks the
//! same minute as under Ansible.

use std::hash::{BuildHasher, Hasher};

use minijinja::value::{Kwargs, Value, ValueKind};
use minijinja::{Error, State};
use sha2::Digest as _;

use super::{check_defined, fail, py_str};

const N: usize = 624;

/// CPython's Mersenne Twister (`_randommodule.c`).
pub(crate) struct Mt {
    state: [u32; N],
    index: usize,
}

impl Mt {
    fn init_genrand(s: u32) -> Mt {
        let mut state = [0u32; N];
        state[0] = s;
        for i in 1..N {
            state[i] = 1_812_433_253u32
                .wrapping_mul(state[i - 1] ^ (state[i - 1] >> 30))
                .wrapping_add(i as u32);
        }
        Mt { state, index: N }
    }

    fn init_by_array(key: &[u32]) -> Mt {
        let mut mt = Mt::init_genrand(19_650_218);
        let s = &mut mt.state;
        let (mut i, mut j) = (1usize, 0usize);
        for _ in 0..N.max(key.len()) {
            s[i] = (s[i] ^ (s[i - 1] ^ (s[i - 1] >> 30)).wrapping_mul(1_664_525))
                .wrapping_add(key[j])
                .wrapping_add(j as u32);
            i += 1;
            j += 1;
            if i >= N {
                s[0] = s[N - 1];
                i = 1;
            }
            if j >= key.len() {
                j = 0;
            }
        }
        for _ in 0..N - 1 {
            s[i] = (s[i] ^ (s[i - 1] ^ (s[i - 1] >> 30)).wrapping_mul(1_566_083_941))
                .wrapping_sub(i as u32);
            i += 1;
            if i >= N {
                s[0] = s[N - 1];
                i = 1;
            }
        }
        s[0] = 0x8000_0000;
        mt
    }

    fn next_u32(&mut self) -> u32 {
        if self.index >= N {
            for k in 0..N {
                let y = (self.state[k] & 0x8000_0000) | (self.state[(k + 1) % N] & 0x7fff_ffff);
                let mut v = self.state[(k + 397) % N] ^ (y >> 1);
                if y & 1 != 0 {
                    v ^= 0x9908_b0df;
                }
                self.state[k] = v;
            }
            self.index = 0;
        }
        let mut y = self.state[self.index];
        self.index += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    /// `getrandbits(k)` for `k <= 64`.
    fn getrandbits(&mut self, k: u32) -> u64 {
        if k <= 32 {
            return u64::from(self.next_u32() >> (32 - k));
        }
        let low = u64::from(self.next_u32());
        let high = u64::from(self.next_u32() >> (64 - k));
        (high << 32) | low
    }

    /// `_randbelow_with_getrandbits(n)`.
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        let k = 64 - n.leading_zeros();
        loop {
            let r = self.getrandbits(k);
            if r < n {
                return r;
            }
        }
    }
}

/// `random.Random(seed)`: strings seed with their bytes plus their SHA-512 (version 2
/// seeding); integers with their absolute value.
pub(crate) fn seeded(seed: &Value) -> Mt {
    let bytes: Vec<u8> = if seed.is_integer() {
        let n = i128::try_from(seed.clone()).unwrap_or(0).unsigned_abs();
        n.to_be_bytes().to_vec()
    } else {
        let text = py_str(seed);
        let mut b = text.as_bytes().to_vec();
        b.extend_from_slice(&sha2::Sha512::digest(text.as_bytes()));
        b
    };
    // The big-endian integer, cut into 32-bit words from the least significant end.
    let first = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    let significant = &bytes[first..];
    let mut key: Vec<u32> = significant
        .rchunks(4)
        .map(|c| c.iter().fold(0u32, |acc, &b| (acc << 8) | u32::from(b)))
        .collect();
    if key.is_empty() {
        key.push(0);
    }
    Mt::init_by_array(&key)
}

fn unseeded() -> Mt {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    let v = h.finish();
    Mt::init_by_array(&[v as u32, (v >> 32) as u32])
}

fn rng(seed: Option<Value>) -> Mt {
    match seed.filter(|s| !s.is_none() && !s.is_undefined()) {
        Some(s) => seeded(&s),
        None => unseeded(),
    }
}

/// `random(end, start=None, step=None, seed=None)`: `randrange(start, end, step)` for an
/// integer, `choice(end)` for a sequence.
pub(super) fn random(
    state: &State,
    end: &Value,
    start: Option<i64>,
    step: Option<i64>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    check_defined(state, end)?;
    let start = start.or(kwargs.get::<Option<i64>>("start")?);
    let step = step.or(kwargs.get::<Option<i64>>("step")?);
    let seed = kwargs.get::<Option<Value>>("seed")?;
    kwargs.assert_all_used()?;
    let mut r = rng(seed);
    if end.is_integer() {
        let stop = i64::try_from(end.clone()).map_err(|_| fail("random: end is too large"))?;
        let start = start.filter(|s| *s != 0).unwrap_or(0);
        let step = step.filter(|s| *s != 0).unwrap_or(1);
        let width = i128::from(stop) - i128::from(start);
        let n = if step > 0 {
            (width + i128::from(step) - 1).div_euclid(i128::from(step))
        } else {
            (width + i128::from(step) + 1).div_euclid(i128::from(step))
        };
        if n <= 0 {
            return Err(fail(format!(
                "empty range for randrange() ({start}, {stop}, {width})"
            )));
        }
        let pick = i128::from(r.below(n as u64));
        return Ok(Value::from(
            (i128::from(start) + i128::from(step) * pick) as i64,
        ));
    }
    if matches!(
        end.kind(),
        ValueKind::Seq | ValueKind::String | ValueKind::Map
    ) {
        if start.is_some_and(|s| s != 0) || step.is_some_and(|s| s != 0) {
            return Err(fail("start and step can only be used with integer values"));
        }
        let items: Vec<Value> = end.try_iter()?.collect();
        if items.is_empty() {
            return Err(fail("Cannot choose from an empty sequence"));
        }
        let i = r.below(items.len() as u64) as usize;
        return Ok(items[i].clone());
    }
    Err(fail("random can only be used on sequences and integers"))
}

/// `shuffle(seed=None)`: Python's `Random(seed).shuffle(list(x))`.
pub(super) fn shuffle(state: &State, value: &Value, kwargs: Kwargs) -> Result<Value, Error> {
    check_defined(state, value)?;
    let seed = kwargs.get::<Option<Value>>("seed")?;
    kwargs.assert_all_used()?;
    let Ok(iter) = value.try_iter() else {
        return Ok(value.clone());
    };
    let mut items: Vec<Value> = iter.collect();
    let mut r = rng(seed.filter(truthy_seed));
    for i in (1..items.len()).rev() {
        let j = r.below(i as u64 + 1) as usize;
        items.swap(i, j);
    }
    Ok(Value::from(items))
}

/// Ansible only seeds when the seed is truthy (`if seed:`).
fn truthy_seed(v: &Value) -> bool {
    v.is_true()
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn matches_cpython() {
        // random.Random('web1').randrange(0, 60) == 52; random.Random(42).randrange(0, 60) == 40
        assert_eq!(seeded(&Value::from("web1")).below(60), 52);
        assert_eq!(seeded(&Value::from(42)).below(60), 40);
    }
}

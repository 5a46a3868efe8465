//! Python's `random.Random`: the Mersenne Twister with Python's seeding, `randrange`, `choice`
//! and `shuffle`, so that `random(seed=...)` and `shuffle(seed=...)` pick what Ansible picks.
//!
//! Playbooks use a seed precisely to get a stable choice across runs (`seed=inventory_hostname`
//! spreads cron minutes over hosts); a different generator would move every such cron job. The
//! unseeded forms only need to be random, and take their seed from the kernel.

use sha2::Digest as _;

const N: usize = 624;
const M: usize = 397;

pub struct PyRandom {
    mt: [u32; N],
    index: usize,
}

/// What a playbook can pass as `seed`.
pub enum Seed<'a> {
    Int(u128),
    Str(&'a str),
    Float(f64),
}

impl PyRandom {
    pub fn new(seed: Seed) -> PyRandom {
        let key: Vec<u32> = match seed {
            Seed::Int(n) => words(&n.to_le_bytes()),
            Seed::Float(f) => words(&(py_float_hash(f) as u64).to_le_bytes()),
            // Python's version-2 seeding of text: the text's bytes followed by their SHA-512,
            // read as one big-endian integer.
            Seed::Str(s) => {
                let mut bytes = s.as_bytes().to_vec();
                bytes.extend_from_slice(&sha2::Sha512::digest(s.as_bytes()));
                bytes.reverse();
                words(&bytes)
            }
        };
        let mut r = PyRandom { mt: [0; N], index: N };
        r.init_by_array(&key);
        r
    }

    /// A generator seeded from the kernel, for the unseeded filters.
    pub fn from_entropy() -> PyRandom {
        let mut buf = [0u8; 16];
        crate::random::fill(&mut buf);
        let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        PyRandom::new(Seed::Int(u128::from_le_bytes(buf) ^ t))
    }

    fn init_genrand(&mut self, s: u32) {
        self.mt[0] = s;
        for i in 1..N {
            let prev = self.mt[i - 1];
            self.mt[i] = 1_812_433_253u32.wrapping_mul(prev ^ (prev >> 30)).wrapping_add(i as u32);
        }
        self.index = N;
    }

    fn init_by_array(&mut self, key: &[u32]) {
        self.init_genrand(19_650_218);
        let (mut i, mut j) = (1usize, 0usize);
        for _ in 0..N.max(key.len()) {
            let prev = self.mt[i - 1];
            self.mt[i] = (self.mt[i] ^ (prev ^ (prev >> 30)).wrapping_mul(1_664_525)).wrapping_add(key[j]).wrapping_add(j as u32);
            i += 1;
            j += 1;
            if i >= N {
                self.mt[0] = self.mt[N - 1];
                i = 1;
            }
            if j >= key.len() {
                j = 0;
            }
        }
        for _ in 0..N - 1 {
            let prev = self.mt[i - 1];
            self.mt[i] = (self.mt[i] ^ (prev ^ (prev >> 30)).wrapping_mul(1_566_083_941)).wrapping_sub(i as u32);
            i += 1;
            if i >= N {
                self.mt[0] = self.mt[N - 1];
                i = 1;
            }
        }
        self.mt[0] = 0x8000_0000;
    }

    fn next_u32(&mut self) -> u32 {
        if self.index >= N {
            for k in 0..N {
                let y = (self.mt[k] & 0x8000_0000) | (self.mt[(k + 1) % N] & 0x7fff_ffff);
                let mag = if y & 1 == 1 { 0x9908_b0df } else { 0 };
                self.mt[k] = self.mt[(k + M) % N] ^ (y >> 1) ^ mag;
            }
            self.index = 0;
        }
        let mut y = self.mt[self.index];
        self.index += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    fn getrandbits(&mut self, k: u32) -> u64 {
        if k == 0 {
            return 0;
        }
        if k <= 32 {
            return (self.next_u32() >> (32 - k)) as u64;
        }
        // Words come least significant first; the last one drops its low bits.
        let mut out = 0u64;
        let mut left = k;
        let mut shift = 0;
        while left > 0 {
            let mut r = self.next_u32() as u64;
            if left < 32 {
                r >>= 32 - left;
            }
            out |= r << shift;
            shift += 32;
            left = left.saturating_sub(32);
        }
        out
    }

    /// `_randbelow`: a uniform integer in `0..n` by rejection sampling.
    pub fn below(&mut self, n: u64) -> u64 {
        let k = 64 - n.leading_zeros();
        let mut r = self.getrandbits(k);
        while r >= n {
            r = self.getrandbits(k);
        }
        r
    }

    /// `randrange(start, stop, step)`, with Python's errors for empty ranges.
    pub fn randrange(&mut self, start: i64, stop: i64, step: i64) -> Result<i64, String> {
        let width = stop as i128 - start as i128;
        if step == 1 {
            if width > 0 {
                return Ok(start + self.below(width as u64) as i64);
            }
            return Err(format!("empty range in randrange({start}, {stop})"));
        }
        let step_w = step as i128;
        let n = match step.signum() {
            1 => (width + step_w - 1).div_euclid(step_w),
            -1 => (width + step_w + 1).div_euclid(step_w),
            _ => return Err("zero step for randrange()".into()),
        };
        if n <= 0 {
            return Err(format!("empty range in randrange({start}, {stop}, {step})"));
        }
        Ok(start + step * self.below(n as u64) as i64)
    }

    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }
}

/// Little-endian 32-bit words of an unsigned integer's bytes, without high zero words (Python
/// seeds with `abs(n)` split this way; zero is one zero word).
fn words(le: &[u8]) -> Vec<u32> {
    let mut w: Vec<u32> = le.chunks(4).map(|c| c.iter().rev().fold(0u32, |acc, b| (acc << 8) | *b as u32)).collect();
    while w.len() > 1 && w.last() == Some(&0) {
        w.pop();
    }
    if w.is_empty() {
        w.push(0);
    }
    w
}

/// CPython's `hash(float)`, which is what seeds a generator given a float.
fn py_float_hash(v: f64) -> i64 {
    const BITS: i32 = 61;
    const MODULUS: u64 = (1 << BITS) - 1;
    if v.is_infinite() {
        return if v > 0.0 { 314_159 } else { -314_159 };
    }
    if v.is_nan() || v == 0.0 {
        return 0;
    }
    let (mut m, mut e) = frexp(v.abs());
    let sign: i64 = if v < 0.0 { -1 } else { 1 };
    let mut x: u64 = 0;
    while m != 0.0 {
        x = ((x << 28) & MODULUS) | (x >> (BITS - 28));
        m *= 268_435_456.0;
        e -= 28;
        let y = m as u64;
        m -= y as f64;
        x += y;
        if x >= MODULUS {
            x -= MODULUS;
        }
    }
    let e = if e >= 0 { e % BITS } else { BITS - 1 - ((-1 - e) % BITS) };
    x = ((x << e) & MODULUS) | (x >> (BITS - e));
    let h = (x as i64) * sign;
    if h == -1 {
        -2
    } else {
        h
    }
}

/// C's `frexp` for positive finite values: `v = m * 2^e` with `0.5 <= m < 1`.
fn frexp(v: f64) -> (f64, i32) {
    let bits = v.to_bits();
    let exp = ((bits >> 52) & 0x7ff) as i32;
    if exp == 0 {
        let (m, e) = frexp(v * 2f64.powi(64));
        return (m, e - 64);
    }
    let m = f64::from_bits((bits & !(0x7ff << 52)) | (1022 << 52));
    (m, exp - 1022)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected values come from ansible-core 2.19.14 (Python 3.11), e.g.
    // `ansible localhost -m debug -a "msg={{ 100 | random(seed=1337) }}"`.
    #[test]
    fn seeded_like_python() {
        assert_eq!(PyRandom::new(Seed::Int(1337)).randrange(0, 2, 1).unwrap(), 1);
        assert_eq!(PyRandom::new(Seed::Int(1337)).randrange(0, 100, 1).unwrap(), 79);
        assert_eq!(PyRandom::new(Seed::Str("abc")).randrange(0, 100, 1).unwrap(), 98);
        assert_eq!(PyRandom::new(Seed::Int(7)).randrange(10, 100, 5).unwrap(), 60);
        assert_eq!(PyRandom::new(Seed::Float(3.5)).randrange(0, 100, 1).unwrap(), 38);
        let mut l = vec![1, 3, 5, 7, 9];
        PyRandom::new(Seed::Int(1337)).shuffle(&mut l);
        assert_eq!(l, vec![3, 1, 7, 5, 9]);
        let mut l = vec![1, 3, 5, 7, 9];
        PyRandom::new(Seed::Str("x")).shuffle(&mut l);
        assert_eq!(l, vec![9, 3, 1, 7, 5]);
        let mut l: Vec<i32> = (0..20).collect();
        PyRandom::new(Seed::Int(5)).shuffle(&mut l);
        assert_eq!(l, vec![4, 9, 6, 5, 14, 17, 18, 1, 2, 15, 10, 3, 12, 7, 13, 0, 16, 11, 8, 19]);
    }
}

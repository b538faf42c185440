//! Test support: a tiny deterministic value generator for every wire type,
//! used by the round-trip properties (proptest supplies the seed).

use bytes::Bytes;

use crate::tagged::RawTaggedField;
use crate::wire::Uuid;

/// A xorshift generator; `depth` bounds nested collections.
pub struct Gen {
    state: u64,
}

impl Gen {
    pub fn new(seed: u64) -> Self {
        Self { state: seed | 1 }
    }

    pub fn next(&mut self) -> u64 {
        let mut x = self.state;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.state = x;
        x
    }

    fn below(&mut self, n: u64) -> usize {
        (self.next() % n) as usize
    }
}

/// A type that can produce arbitrary values of itself.
pub trait Sample {
    fn sample(g: &mut Gen) -> Self;
}

macro_rules! int_sample {
    ($($ty:ty),*) => {$(
        impl Sample for $ty {
            fn sample(g: &mut Gen) -> Self {
                // Mix small values (defaults like -1/0 matter) with wide ones.
                match g.below(3) {
                    0 => (g.below(3) as i64 - 1) as $ty,
                    _ => g.next() as $ty,
                }
            }
        }
    )*};
}
int_sample!(i8, i16, i32, i64, u16, u32);

impl Sample for f64 {
    fn sample(g: &mut Gen) -> Self {
        g.next() as i32 as f64 / 8.0
    }
}

impl Sample for bool {
    fn sample(g: &mut Gen) -> Self {
        g.below(2) == 1
    }
}

impl Sample for Uuid {
    fn sample(g: &mut Gen) -> Self {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&g.next().to_be_bytes());
        b[8..].copy_from_slice(&g.next().to_be_bytes());
        Uuid(b)
    }
}

impl Sample for String {
    fn sample(g: &mut Gen) -> Self {
        let n = g.below(5);
        (0..n)
            .map(|_| ['a', 'z', '-', 'é', '0'][g.below(5)])
            .collect()
    }
}

impl Sample for Bytes {
    fn sample(g: &mut Gen) -> Self {
        let n = g.below(6);
        (0..n).map(|_| g.next() as u8).collect::<Vec<u8>>().into()
    }
}

impl Sample for crate::records::Records {
    fn sample(g: &mut Gen) -> Self {
        crate::records::Records::Memory(Bytes::sample(g))
    }
}

impl<T: Sample> Sample for Vec<T> {
    fn sample(g: &mut Gen) -> Self {
        let n = g.below(3);
        (0..n).map(|_| T::sample(g)).collect()
    }
}

impl<T: Sample> Sample for Option<T> {
    fn sample(g: &mut Gen) -> Self {
        (g.below(5) != 0).then(|| T::sample(g))
    }
}

impl Sample for RawTaggedField {
    fn sample(g: &mut Gen) -> Self {
        // Tags well above any known one, so they stay unknown.
        Self {
            tag: 1000 + g.below(50) as u32,
            data: Bytes::sample(g),
        }
    }
}

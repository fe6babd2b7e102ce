//! The bytes of residents' CSV lines as the fast path reads them: 64-byte
//! windows classified at once into bit masks, 8-byte words, and decimal
//! numbers read eight digits at a time.

use super::*;
use wide::u8x32;

/// The low `len` (0..=8) bytes of `word`, the others zero.
#[inline]
pub(super) fn low_bytes(word: u64, len: usize) -> u64 {
    if len >= 8 {
        word
    } else {
        word & ((1u64 << (8 * len)) - 1)
    }
}

/// Bytes of a line taken at once: a line whose line feed is among the
/// first `WINDOW` bytes from its start is split by bit masks of its bytes
/// ([`Classes`]), a longer one field by field.
pub(super) const WINDOW: usize = 64;

/// Bytes of zeros kept after a body, so that two windows (and so any
/// 8-byte word) can be read from any position in it.
pub(super) const PADDING: usize = 2 * WINDOW;

/// The bytes of a window that matter to splitting a line: bit `i` of each
/// mask is about the window's byte `i`.
pub(super) struct Classes {
    /// Commas.
    pub(super) commas: u64,
    /// Line feeds.
    pub(super) newlines: u64,
    /// Bytes up to the space (`0x00..=0x20`): every ASCII whitespace byte
    /// and the other control characters.
    pub(super) low: u64,
}

/// The bit masks of one window (`u64`) or two (`u128`).
pub(super) trait LineMask:
    Copy
    + PartialEq
    + std::ops::BitAnd<Output = Self>
    + std::ops::BitOr<Output = Self>
    + std::ops::Shl<u32, Output = Self>
    + std::ops::Shr<u32, Output = Self>
    + std::ops::Sub<Output = Self>
{
    const ZERO: Self;
    const ONE: Self;
    fn trailing_zeros(self) -> u32;
    fn count_ones(self) -> u32;
}

macro_rules! line_mask {
    ($($t:ty),*) => {$(
        impl LineMask for $t {
            const ZERO: Self = 0;
            const ONE: Self = 1;
            #[inline(always)]
            fn trailing_zeros(self) -> u32 {
                <$t>::trailing_zeros(self)
            }
            #[inline(always)]
            fn count_ones(self) -> u32 {
                <$t>::count_ones(self)
            }
        }
    )*};
}
line_mask!(u64, u128);

/// The two 32-byte vectors of a window, to compare at once.
#[inline(always)]
pub(super) fn halves(w: &[u8; WINDOW]) -> (u8x32, u8x32) {
    let (lo, hi) = w.split_at(32);
    let (Ok(lo), Ok(hi)) = (<[u8; 32]>::try_from(lo), <[u8; 32]>::try_from(hi)) else {
        unreachable!("a window is two halves of 32 bytes")
    };
    (u8x32::from(lo), u8x32::from(hi))
}

/// The [`Classes`] of the [`WINDOW`] bytes of `body` from `at`: two 32-byte
/// vectors, each compared with a splatted byte and reduced to a bit mask
/// (`vpcmpeqb` and `vpmovmskb` when built for AVX2, as the workspace is).
#[inline(always)]
pub(super) fn classes(body: &[u8], at: usize) -> Classes {
    let Some(w) = body[at..].first_chunk::<WINDOW>() else {
        panic!("a window read past the padding of a body")
    };
    let (lo, hi) = halves(w);
    let bits = |v: u8x32| u64::from(v.to_bitmask());
    let eq = |b: u8| bits(lo.simd_eq(u8x32::splat(b))) | bits(hi.simd_eq(u8x32::splat(b))) << 32;
    // A byte is at most the space when the minimum of the two is itself.
    let space = u8x32::splat(b' ');
    Classes {
        commas: eq(b','),
        newlines: eq(b'\n'),
        low: bits(lo.min(space).simd_eq(lo)) | bits(hi.min(space).simd_eq(hi)) << 32,
    }
}

/// The eight bytes of `body` from `at`, the first in the low byte.
#[inline(always)]
pub(super) fn word_at(body: &[u8], at: usize) -> u64 {
    match body[at..].first_chunk::<8>() {
        Some(w) => u64::from_le_bytes(*w),
        None => panic!("a word read past the padding of a body"),
    }
}

/// Where the field starting at `at` ends: its comma or line feed.
#[inline]
pub(super) fn field_end(body: &[u8], mut at: usize) -> usize {
    loop {
        let found = delimiters(word_at(body, at));
        if found != 0 {
            return at + (found.trailing_zeros() / 8) as usize;
        }
        at += 8;
    }
}

/// The value of `len` (0..=8) decimal digits starting with the low byte of
/// `word`, or `None` if any of them is not a digit.
///
/// SWAR: the digits are moved to the high bytes and the low ones filled
/// with `'0'` (leading zeros), every byte is checked to be `'0'..='9'`,
/// then pairs, quadruples and the two halves are combined with three
/// multiplications (the first digit is the most significant).
#[inline]
pub(super) fn digits(word: u64, len: usize) -> Option<u64> {
    if len == 0 {
        return Some(0);
    }
    let shift = 8 * (8 - len) as u32;
    let w = (word << shift)
        | (0x3030_3030_3030_3030u64
            .checked_shr(8 * len as u32)
            .unwrap_or(0));
    // Each byte is 0x30..=0x39: its high nibble is 3, and adding 6 leaves
    // the high nibble at 3 (no carry out of the low nibble).
    let high = w & 0xF0F0_F0F0_F0F0_F0F0;
    let carried = (w.wrapping_add(0x0606_0606_0606_0606) & 0xF0F0_F0F0_F0F0_F0F0) >> 4;
    if high | carried != 0x3333_3333_3333_3333 {
        return None;
    }
    let v = ((w & 0x0F0F_0F0F_0F0F_0F0F).wrapping_mul(2561)) >> 8;
    let v = ((v & 0x00FF_00FF_00FF_00FF).wrapping_mul(6_553_601)) >> 16;
    Some(((v & 0x0000_FFFF_0000_FFFF).wrapping_mul(42_949_672_960_001)) >> 32)
}

/// [`parse_plain_decimal`] of the `len` bytes of `body` from `at`: the
/// common shapes (up to 15 digits, at most one point) by [`mantissa`], the
/// others by `parse_plain_decimal` itself.
#[inline(always)]
pub(super) fn decimal(body: &[u8], at: usize, len: usize) -> Option<f64> {
    const POW10: [f64; 16] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
    ];
    // One digit (a weight of 1, most often) needs none of the below.
    if len == 1 {
        let d = body[at].wrapping_sub(b'0');
        if d < 10 {
            return Some(f64::from(d));
        }
    }
    let b = &body[at..at + len];
    let (neg, from) = match b.first() {
        Some(b'-') => (true, 1),
        Some(b'+') => (false, 1),
        _ => (false, 0),
    };
    if let Some((m, frac)) = mantissa(body, at + from, len - from) {
        // At most 15 digits: the integer, and so the quotient, exact as
        // `parse_plain_decimal` has it. Below 2^53, so converted exactly
        // (as a signed integer: one instruction).
        let m = (m as i64) as f64;
        let v = if frac == 0 { m } else { m / POW10[frac] };
        return Some(if neg { -v } else { v });
    }
    parse_plain_decimal(b)
}

/// Where each digit of a number goes, for [`mantissa`]: `SPREAD[int][n]`
/// moves the `n` digits of a number whose point (if any) follows its
/// `int`-th digit to the last `n` of 16 bytes, skipping the point, and
/// zeroes the bytes before them (an index with its high bit set).
#[cfg(all(
    target_arch = "x86_64",
    target_feature = "ssse3",
    target_feature = "sse4.1"
))]
const SPREAD: [[[u8; 16]; 16]; 16] = {
    let mut t = [[[0x80u8; 16]; 16]; 16];
    let mut int = 0;
    while int < 16 {
        let mut n = 1;
        while n < 16 {
            let mut d = 0;
            while d < n {
                t[int][n][16 - n + d] = if d < int { d } else { d + 1 } as u8;
                d += 1;
            }
            n += 1;
        }
        int += 1;
    }
    t
};

/// The number of the `len` bytes of `body` from `at` as its digits (an
/// integer) and how many of them follow the point, when it is 1 to 15
/// digits with at most one point among them; `None` otherwise (and for
/// some such numbers: the general parser takes them).
#[inline(always)]
fn mantissa(body: &[u8], at: usize, len: usize) -> Option<(u64, usize)> {
    #[cfg(all(
        target_arch = "x86_64",
        target_feature = "ssse3",
        target_feature = "sse4.1"
    ))]
    return mantissa_vector(body, at, len);
    #[cfg(not(all(
        target_arch = "x86_64",
        target_feature = "ssse3",
        target_feature = "sse4.1"
    )))]
    return mantissa_words(body, at, len);
}

/// [`mantissa`] of any such number of up to 16 bytes, 16 bytes at once
/// (SSSE3 and SSE4.1, which x86-64-v3 has): the point
/// found by a compare; the digits moved, less the point, to the end of a
/// vector with zeros before them (`pshufb`) and checked to be 0..=9; then
/// pairs, quadruples and the two halves of eight summed with their powers
/// of ten (`pmaddubsw`, `pmaddwd`, `packusdw`, `pmaddwd`).
#[cfg(all(
    target_arch = "x86_64",
    target_feature = "ssse3",
    target_feature = "sse4.1"
))]
#[inline(always)]
fn mantissa_vector(body: &[u8], at: usize, len: usize) -> Option<(u64, usize)> {
    use safe_arch::*;
    if len == 0 || len > 16 {
        return None;
    }
    let Some(bytes) = body[at..].first_chunk::<16>() else {
        panic!("a number read past the padding of a body")
    };
    let raw = m128i::from(*bytes);
    let splat = |b: u8| set_splat_i8_m128i(b as i8);
    let points = move_mask_i8_m128i(cmp_eq_mask_i8_m128i(raw, splat(b'.'))) as u32;
    let points = points & ((1u32 << len) - 1);
    let (int, frac) = match points {
        0 => (len, 0),
        p => {
            let p = p.trailing_zeros() as usize;
            (p, len - p - 1)
        }
    };
    let n = int + frac;
    if !(1..=15).contains(&n) {
        return None;
    }
    let digits =
        shuffle_av_i8z_all_m128i(sub_i8_m128i(raw, splat(b'0')), m128i::from(SPREAD[int][n]));
    // Every byte a digit: the zeroed ones are, and any byte that is not
    // (another point among them) is above 9 once `'0'` is taken off.
    if move_mask_i8_m128i(cmp_eq_mask_i8_m128i(min_u8_m128i(digits, splat(9)), digits)) != 0xFFFF {
        return None;
    }
    let pairs = mul_u8i8_add_horizontal_saturating_m128i(
        digits,
        m128i::from([10i8, 1, 10, 1, 10, 1, 10, 1, 10, 1, 10, 1, 10, 1, 10, 1]),
    );
    let quads =
        mul_i16_horizontal_add_m128i(pairs, m128i::from([100i16, 1, 100, 1, 100, 1, 100, 1]));
    let quads = pack_i32_to_u16_m128i(quads, quads);
    let eights = mul_i16_horizontal_add_m128i(
        quads,
        m128i::from([10_000i16, 1, 10_000, 1, 10_000, 1, 10_000, 1]),
    );
    let [high, low, _, _] = <[u32; 4]>::from(eights);
    Some((u64::from(high) * 100_000_000 + u64::from(low), frac))
}

/// [`mantissa`] eight digits at a time in a word ([`digits`]), for builds
/// without SSE4.1 (and tested beside the other): the point among the
/// first eight bytes, at most eight digits on either side of it.
#[cfg_attr(
    all(
        target_arch = "x86_64",
        target_feature = "ssse3",
        target_feature = "sse4.1"
    ),
    allow(dead_code)
)]
#[inline(always)]
fn mantissa_words(body: &[u8], at: usize, len: usize) -> Option<(u64, usize)> {
    const POW10U: [u64; 9] = [
        1,
        10,
        100,
        1_000,
        10_000,
        100_000,
        1_000_000,
        10_000_000,
        100_000_000,
    ];
    // The point among the first eight bytes (as a number's own delimiter
    // search: the high bit of each byte equal to `.`).
    let first = word_at(body, at) ^ 0x2E2E_2E2E_2E2E_2E2E;
    let dots = (first.wrapping_sub(0x0101_0101_0101_0101) & !first) & 0x8080_8080_8080_8080;
    // (None among them: the number is taken as all integer, and if longer
    // than eight digits goes to the general parser.)
    let point = if dots == 0 {
        usize::MAX
    } else {
        (dots.trailing_zeros() / 8) as usize
    };
    let (int, frac) = if point < len {
        (point, len - point - 1)
    } else {
        (len, 0)
    };
    if int <= 8 && frac <= 8 && (1..=15).contains(&(int + frac)) {
        let i = digits(word_at(body, at), int)?;
        let f = digits(word_at(body, at + int + 1), frac)?;
        return Some((i * POW10U[frac] + f, frac));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn padded(s: &[u8]) -> Vec<u8> {
        let mut v = s.to_vec();
        v.extend_from_slice(&[0; 2 * PADDING]);
        v
    }

    #[test]
    fn digits_are_checked_and_read_at_every_length() {
        for len in 0..=8usize {
            for value in [0u64, 7, 12_345_678, 99_999_999, 10_000_001, 4_000_000] {
                let s = format!("{value:0len$}");
                if s.len() != len {
                    continue;
                }
                let b = padded(s.as_bytes());
                assert_eq!(digits(word_at(&b, 0), len), Some(value), "{s}");
            }
            // Any byte that is not a digit, at any position, is refused;
            // bytes past the length are ignored.
            for pos in 0..len {
                for byte in 0..=255u8 {
                    let mut b = padded(&vec![b'5'; len]);
                    b[pos] = byte;
                    b[len] = byte;
                    let want = byte.is_ascii_digit().then(|| {
                        let s = std::str::from_utf8(&b[..len]).unwrap();
                        s.parse::<u64>().unwrap()
                    });
                    assert_eq!(digits(word_at(&b, 0), len), want, "{byte} at {pos}");
                }
            }
        }
    }

    #[test]
    fn decimals_parse_as_the_plain_parser() {
        // Random strings over the bytes that matter, and real shapes.
        let alphabet = b"0123456789.-+e ,x";
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut cases: Vec<Vec<u8>> = vec![
            b"9.9530970".to_vec(),
            b"-0.0".to_vec(),
            b"45.70648401".to_vec(),
            b"123456789.123456".to_vec(),
            b"12345678.1234567".to_vec(),
            b"1.".to_vec(),
            b".5".to_vec(),
            b"+.".to_vec(),
            b"".to_vec(),
            b"00000000.00000001".to_vec(),
        ];
        for _ in 0..200_000 {
            let len = (next() % 19) as usize;
            let digitsy = next() % 4 != 0;
            cases.push(
                (0..len)
                    .map(|_| {
                        let r = next() as usize;
                        if digitsy && r % 8 != 0 {
                            b'0' + (r / 8 % 10) as u8
                        } else {
                            alphabet[r / 8 % alphabet.len()]
                        }
                    })
                    .collect(),
            );
        }
        for s in cases {
            let b = padded(&s);
            let got = decimal(&b, 0, s.len());
            let want = parse_plain_decimal(&s);
            assert_eq!(
                got.map(f64::to_bits),
                want.map(f64::to_bits),
                "{}",
                String::from_utf8_lossy(&s)
            );
            // Each way of reading the digits, where it reads them, as the
            // plain parser (unsigned numbers: the sign is `decimal`'s).
            let plain = want.filter(|_| !matches!(s.first(), Some(b'-' | b'+')));
            let quotient = |(m, frac): (u64, usize)| (m as f64 / 10f64.powi(frac as i32)).to_bits();
            let words = mantissa_words(&b, 0, s.len());
            if let Some(w) = words {
                assert_eq!(Some(quotient(w)), plain.map(f64::to_bits), "{s:?}");
            }
            #[cfg(all(
                target_arch = "x86_64",
                target_feature = "ssse3",
                target_feature = "sse4.1"
            ))]
            {
                let vector = mantissa_vector(&b, 0, s.len());
                if let Some(v) = vector {
                    assert_eq!(Some(quotient(v)), plain.map(f64::to_bits), "{s:?}");
                }
                // Whatever the words read, the vector reads too.
                assert!(words.is_none() || vector == words, "{s:?}");
                // Up to 15 digits and one point in 16 bytes: always read.
                let digits = s.iter().filter(|c| c.is_ascii_digit()).count();
                let only = s.iter().all(|&c| c.is_ascii_digit() || c == b'.');
                let points = s.iter().filter(|&&c| c == b'.').count();
                if only && points <= 1 && (1..=15).contains(&digits) && s.len() <= 16 {
                    assert!(vector.is_some(), "{s:?}");
                }
            }
        }
    }
}

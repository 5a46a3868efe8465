//! Random bytes from the operating system, for salts, vault nonces, hashed host names and the
//! markers that end a command's output. A failing random source is an error, never zeros.

/// Fill `buf` from the operating system's random source.
pub fn fill(buf: &mut [u8]) {
    // getrandom fails only where the kernel has no random source at all; going on with zeros
    // would give predictable salts and markers, so stop instead.
    getrandom::fill(buf).expect("the operating system's random source failed");
}

#[cfg(test)]
mod tests {
    #[test]
    fn fills_with_something_other_than_zeros() {
        let mut a = [0u8; 32];
        super::fill(&mut a);
        assert!(a.iter().any(|b| *b != 0));
    }
}

//! Two ascending lists merged into one ascending sequence, without
//! allocating (the rule index's and the JWK set's candidates).

/// The merge of two ascending slices ([`merge`]); a value in both comes
/// once.
#[derive(Debug, Clone)]
pub struct Merge<'a, T> {
    a: &'a [T],
    b: &'a [T],
}

/// Merge ascending `a` and `b`.
pub fn merge<'a, T: Ord + Copy>(a: &'a [T], b: &'a [T]) -> Merge<'a, T> {
    Merge { a, b }
}

impl<T: Ord + Copy> Iterator for Merge<'_, T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        let (a, b) = (self.a, self.b);
        let (x, rest_a, rest_b) = match (a.split_first(), b.split_first()) {
            (Some((&x, ra)), Some((&y, rb))) => match x.cmp(&y) {
                std::cmp::Ordering::Less => (x, ra, b),
                std::cmp::Ordering::Greater => (y, a, rb),
                std::cmp::Ordering::Equal => (x, ra, rb),
            },
            (Some((&x, ra)), None) => (x, ra, b),
            (None, Some((&y, rb))) => (y, a, rb),
            (None, None) => return None,
        };
        self.a = rest_a;
        self.b = rest_b;
        Some(x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_in_order_once() {
        let m = |a: &[u32], b: &[u32]| merge(a, b).collect::<Vec<_>>();
        assert_eq!(m(&[1, 4, 9], &[0, 4, 5, 10]), vec![0, 1, 4, 5, 9, 10]);
        assert_eq!(m(&[], &[2, 3]), vec![2, 3]);
        assert_eq!(m(&[7], &[]), vec![7]);
        assert!(m(&[], &[]).is_empty());
    }
}

//! Merkle trees as RFC 9162 (§2.1) defines them: SHA-256, a leaf hashed behind a 0x00 byte
//! and a node behind 0x01, the left subtree of `n` leaves holding the largest power of two
//! below `n`. A run of audit checkpoints signs the root of its seals' tree once; each seal
//! keeps its inclusion path (the sibling hashes from its leaf up), which is enough to check
//! it alone, offline.

use sha2::{Digest, Sha256};

pub type Hash = [u8; 32];

/// A leaf's hash.
pub fn leaf(bytes: &[u8]) -> Hash {
    Sha256::new().chain_update([0u8]).chain_update(bytes).finalize().into()
}

fn node(left: &Hash, right: &Hash) -> Hash {
    Sha256::new().chain_update([1u8]).chain_update(left).chain_update(right).finalize().into()
}

/// How many of `n` leaves (`n > 1`) the left subtree holds: the largest power of two below `n`.
fn split(n: u64) -> u64 {
    let mut k = 1;
    while k < n - k {
        k *= 2;
    }
    k
}

/// The root over `leaves` (their hashes) and each leaf's inclusion path; `None` for none.
pub fn tree(leaves: &[Hash]) -> Option<(Hash, Vec<Vec<Hash>>)> {
    match leaves {
        [] => None,
        [one] => Some((*one, vec![vec![]])),
        _ => {
            let k = usize::try_from(split(leaves.len() as u64)).ok()?;
            let (left, mut paths) = tree(&leaves[..k])?;
            let (right, right_paths) = tree(&leaves[k..])?;
            paths.iter_mut().for_each(|p| p.push(right));
            paths.extend(right_paths.into_iter().map(|mut p| {
                p.push(left);
                p
            }));
            Some((node(&left, &right), paths))
        }
    }
}

/// The root a leaf at `index` of a tree of `size` leaves reaches through `path`; `None`
/// when `index` is not in the tree or the path is not that leaf's length.
pub fn root_from_path(leaf: Hash, index: u64, size: u64, path: &[Hash]) -> Option<Hash> {
    if index >= size {
        return None;
    }
    if size == 1 {
        return path.is_empty().then_some(leaf);
    }
    let (sibling, below) = path.split_last()?;
    let k = split(size);
    Some(if index < k {
        node(&root_from_path(leaf, index, k, below)?, sibling)
    } else {
        node(sibling, &root_from_path(leaf, index - k, size - k, below)?)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(n: usize) -> Vec<Hash> {
        (0..n).map(|i| leaf(format!("seal {i}").as_bytes())).collect()
    }

    #[test]
    fn the_root_is_rfc_9162s_tree_hash() {
        let l = leaves(3);
        // MTH(D[3]) = node(node(l0, l1), l2): the left subtree holds 2, the largest power below 3.
        assert_eq!(tree(&l).unwrap().0, node(&node(&l[0], &l[1]), &l[2]));
        // The empty string's leaf hash as RFC 6962's test vectors give it.
        assert_eq!(
            crate::audit::hex(&leaf(b"")),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
        );
        assert_eq!(tree(&l[..1]).unwrap().0, l[0]);
        assert!(tree(&[]).is_none());
    }

    #[test]
    fn roots_are_the_reference_ones_of_rfc_6962s_test_vectors() {
        // Certificate Transparency's eight test leaves and the roots of their first n.
        let data: [&[u8]; 8] = [
            b"",
            b"\x00",
            b"\x10",
            b"\x20\x21",
            b"\x30\x31",
            b"\x40\x41\x42\x43",
            b"\x50\x51\x52\x53\x54\x55\x56\x57",
            b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
        ];
        let roots = [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
            "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
            "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
        ];
        let l: Vec<Hash> = data.iter().map(|d| leaf(d)).collect();
        for (n, root) in (1..=8).zip(roots) {
            let (computed, paths) = tree(&l[..n]).unwrap();
            assert_eq!(crate::audit::hex(&computed), root, "{n} leaves");
            // And every leaf's path leads there.
            for (i, path) in paths.iter().enumerate() {
                assert_eq!(root_from_path(l[i], i as u64, n as u64, path), Some(computed), "{i} of {n}");
            }
        }
    }

    #[test]
    fn every_leaf_reaches_the_root_through_its_path_and_nothing_else_does() {
        for n in [1, 2, 3, 5, 8, 13, 100] {
            let l = leaves(n);
            let (root, paths) = tree(&l).unwrap();
            for (i, path) in paths.iter().enumerate() {
                let (i, size) = (i as u64, n as u64);
                assert_eq!(root_from_path(l[i as usize], i, size, path), Some(root), "{i} of {n}");
                // Another leaf, another place, a path cut or lengthened. (A larger claimed size
                // may reach the same root: the run's signature covers the size.)
                assert_ne!(root_from_path(leaf(b"forged"), i, size, path), Some(root));
                if n > 1 {
                    assert_ne!(root_from_path(l[i as usize], (i + 1) % size, size, path), Some(root));
                    assert_eq!(root_from_path(l[i as usize], i, size, &path[1..]), None);
                }
                let mut longer = path.clone();
                longer.push(root);
                assert_ne!(root_from_path(l[i as usize], i, size, &longer), Some(root));
                assert_eq!(root_from_path(l[i as usize], size, size, path), None);
            }
        }
    }

    #[test]
    fn a_huge_claimed_size_with_a_short_path_is_refused_without_work() {
        assert_eq!(root_from_path(leaf(b"x"), 0, u64::MAX, &[leaf(b"y")]), None);
        assert_eq!(root_from_path(leaf(b"x"), u64::MAX - 1, u64::MAX, &[]), None);
    }
}

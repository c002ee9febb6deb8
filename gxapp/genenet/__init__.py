"""Paper A: gene interaction networks, their training, Shapley interaction
scores between genes, the permutation test and the classical peers."""

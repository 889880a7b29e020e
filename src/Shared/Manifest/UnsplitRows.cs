namespace MmCluster.Shared.Manifest;

/// <summary>
/// Where a row without a split goes (a file with no <c>split</c> column, as img2dataset's Parquet output): to the test
/// split when its key's hash falls below <see cref="TestFraction"/>, else to the training split. The hash is of the key
/// alone (FNV-1a, then SplitMix64's finalizer), so every reader on every machine puts a row in the same split, without
/// rewriting the files; a fraction of 0 puts every such row in training.
/// </summary>
public sealed record UnsplitRows(string TrainSplit, string TestSplit, double TestFraction)
{
    /// <summary>Every row without a split is a training row of the default "train" split.</summary>
    public static UnsplitRows Default { get; } = new("train", "test", 0);

    /// <summary>The split of a row keyed <paramref name="key"/> that has none of its own.</summary>
    public string Assign(string? key)
    {
        if (TestFraction <= 0)
        {
            return TrainSplit;
        }
        return SplitMix64.ToUnit(SplitMix64.Mix(SplitMix64.Fnv1a(key ?? ""))) < TestFraction ? TestSplit : TrainSplit;
    }
}

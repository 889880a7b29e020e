namespace MmCluster.Shared.Manifest.Import;

/// <summary>One IDX image/label pair to import as one split of a manifest.</summary>
public sealed record IdxImportOptions(string ImagesPath, string LabelsPath, string OutDir)
{
    public IReadOnlyList<string> ClassNames { get; init; } = Import.ClassNames.FashionMnist;

    /// <summary>Split name: written in the <c>split</c> column, the file names (<c>train-00000.parquet</c>) and the footer.</summary>
    public string Split { get; init; } = "train";

    /// <summary>Key prefix: keys are <c>{KeyPrefix}-{Split}-{row:D6}</c>, e.g. <c>fmnist-train-000001</c>.</summary>
    public string KeyPrefix { get; init; } = "idx";

    public int RowsPerGroup { get; init; } = 5_000;

    public long RowsPerFile { get; init; } = 20_000;

    /// <summary>Seeds the per-row choice of caption template (and of the instruction conversation).</summary>
    public ulong CaptionSeed { get; init; }

    /// <summary>
    /// Also write the <c>conversation</c> column: each row's instructions (<see cref="FashionMnistInstructions"/>), with
    /// training phrasings when <see cref="Split"/> is <c>train</c> and held-out phrasings for any other split. Needs the
    /// Fashion-MNIST class names, whose attributes the yes-no answers come from.
    /// </summary>
    public bool Instructions { get; init; }
}

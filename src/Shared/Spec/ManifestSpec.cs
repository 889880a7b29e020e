using MmCluster.Shared.Manifest;

namespace MmCluster.Shared.Spec;

/// <summary>The image-text manifest a run trains and evaluates on (a folder of Parquet files).</summary>
public sealed record ManifestSpec
{
    /// <summary>The manifest folder, relative to the spec file's folder. Required.</summary>
    public string? Path { get; init; }

    public string TrainSplit { get; init; } = "train";

    public string TestSplit { get; init; } = "test";

    /// <summary>
    /// <c>test_fraction</c>: the share of rows without a split (files with no split column, as img2dataset writes) that
    /// are test rows, chosen by a hash of the key (<see cref="Manifest.UnsplitRows"/>); the rest train. Default 0.
    /// </summary>
    public double TestFraction { get; init; }

    /// <summary>
    /// <c>vocabulary</c>: the texts the compact caption vocabulary of lm, blip2 and chat stages is built from
    /// (<see cref="VocabularySource"/>; one setting for the run, so every stage that builds one builds the same). Default
    /// manifest.
    /// </summary>
    public VocabularySource Vocabulary { get; init; }

    /// <summary>For manifests that reference images by path: the folder relative image paths resolve against.</summary>
    public string? ImageRoot { get; init; }

    /// <summary>
    /// When set (<c>fashion-mnist</c>, or <c>fashion-mnist-instruct</c> for the same rows with instruction conversations)
    /// a missing manifest folder is not an error: the coordinator imports the data set into <see cref="Path"/> first.
    /// </summary>
    public string? AutoImport { get; init; }

    /// <summary><c>duplicate_keys</c>: refuse a file that repeats a key (default), or skip and count the repeats.</summary>
    public DuplicateKeyPolicy DuplicateKeys { get; init; } = DuplicateKeyPolicy.Refuse;

    /// <summary>
    /// <c>columns</c>: the files' names for the manifest columns, to read Parquet written by other tools in place
    /// (img2dataset's: <c>{ image: jpg, caption: txt, key: key }</c>); empty: the manifest's own names.
    /// </summary>
    public IReadOnlyDictionary<string, string> Columns { get; init; } = new Dictionary<string, string>();

    /// <summary><see cref="Columns"/> as the readers take it (after validation: every name is a mappable column, no value is blank).</summary>
    public ManifestColumnMapping ColumnMapping => Columns.Count == 0 ? ManifestColumnMapping.None : new ManifestColumnMapping(Columns);

    /// <summary><c>limits</c>: the work one row may cost (image bytes, image pixels, caption characters).</summary>
    public ManifestReadLimits Limits { get; init; } = ManifestReadLimits.Default;
}

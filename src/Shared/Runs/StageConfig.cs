using System.Text.Json;
using System.Text.Json.Serialization;
using MmCluster.Shared.Manifest;
using MmCluster.Shared.Spec;

namespace MmCluster.Shared.Runs;

/// <summary>
/// What the coordinator sends every worker for one stage (inside StartGeneration, as JSON): the stage of the run spec
/// resolved to absolute paths and concrete step counts, so every rank trains the same thing.
/// </summary>
public sealed record StageConfig
{
    public required string RunId { get; init; }

    public required string RunDirectory { get; init; }

    public required string Stage { get; init; }

    public required string Kind { get; init; }

    public required string Preset { get; init; }

    /// <summary>The spec's per-field overrides of <see cref="Preset"/> (the stage kind's model config parses them).</summary>
    public IReadOnlyDictionary<string, string> ModelOverrides { get; init; } = new Dictionary<string, string>();

    /// <summary>This stage's place in the run's schedule (0 for the first; the order the coordinator runs them).</summary>
    public int StageIndex { get; init; }

    /// <summary>How many stages the run's schedule has.</summary>
    public int StageCount { get; init; } = 1;

    /// <summary>
    /// Where the weights start from, in the spec's order (each supplying the tensors it holds): an earlier stage's latest
    /// committed checkpoint, resolved by the coordinator when this stage starts, or a safetensors file. Model weights only,
    /// never optimizer state. Empty: fresh weights.
    /// </summary>
    public IReadOnlyList<StageInit> Init { get; init; } = [];

    /// <summary>State-dict key prefixes whose parameters get no gradient and no all-reduce.</summary>
    public IReadOnlyList<string> Freeze { get; init; } = [];

    public required string ManifestPath { get; init; }

    /// <summary>The spec's <c>manifest.image_root</c>, resolved: by-path images are read from here or the manifest folder only.</summary>
    public string? ImageRoot { get; init; }

    /// <summary>The spec's <c>manifest.limits</c>: every reader, image decoder and caption tokenizer of the stage uses them.</summary>
    public ManifestReadLimits ReadLimits { get; init; } = ManifestReadLimits.Default;

    /// <summary>The spec's <c>manifest.columns</c>: the files' names for the manifest columns (empty: their own names).</summary>
    public IReadOnlyDictionary<string, string> Columns { get; init; } = new Dictionary<string, string>();

    /// <summary><see cref="Columns"/> as the readers take it.</summary>
    [JsonIgnore]
    public ManifestColumnMapping ColumnMapping => Columns.Count == 0 ? ManifestColumnMapping.None : new ManifestColumnMapping(Columns);

    /// <summary>The spec's <c>manifest.duplicate_keys</c>.</summary>
    [JsonConverter(typeof(JsonStringEnumConverter<DuplicateKeyPolicy>))]
    public DuplicateKeyPolicy DuplicateKeys { get; init; } = DuplicateKeyPolicy.Refuse;

    public string TrainSplit { get; init; } = "train";

    public string TestSplit { get; init; } = "test";

    /// <summary>The share of rows without a split (no split column) that are test rows, by key hash (<c>manifest.test_fraction</c>).</summary>
    public double UnsplitTestFraction { get; init; }

    public long Seed { get; init; }

    /// <summary>The spec's samples per rank per step, with the world the run started with (see <see cref="GlobalBatchSize"/>).</summary>
    public int BatchSize { get; init; }

    /// <summary>
    /// B, the samples of one step over all ranks, fixed for the stage even when the world changes (the coordinator sets
    /// W·b of the spec); the ranks split it with <see cref="BatchSplit"/>. 0 (a config from before it existed): world size
    /// × <see cref="BatchSize"/>.
    /// </summary>
    public int GlobalBatchSize { get; init; }

    public long TotalSteps { get; init; }

    /// <summary>floor(train rows / B): the steps one epoch of the train split gives.</summary>
    public long StepsPerEpoch { get; init; }

    public double LearningRate { get; init; }

    public double WeightDecay { get; init; }

    public double Beta1 { get; init; } = 0.9;

    public double Beta2 { get; init; } = 0.999;

    public double Eps { get; init; } = 1e-8;

    public long WarmupSteps { get; init; }

    /// <summary>Cosine decay to zero after the warm-up; false keeps the learning rate constant.</summary>
    public bool Cosine { get; init; } = true;

    public double GradClip { get; init; } = 1.0;

    /// <summary>How the gradient all-reduce's payloads travel (the stage's <c>gradient_wire</c>).</summary>
    public GradientWire GradientWire { get; init; } = GradientWire.Float32;

    /// <summary>Whether the gradient all-reduce overlaps backward (the stage's <c>gradient_overlap</c>).</summary>
    public bool GradientOverlap { get; init; } = true;

    /// <summary>The share of training questions' tokens replaced by other question words (the stage's <c>question_noise</c>); 0: none.</summary>
    public double QuestionNoise { get; init; }

    /// <summary>The texts a vocabulary this stage builds comes from (the manifest's <c>vocabulary</c>).</summary>
    public VocabularySource Vocabulary { get; init; }

    /// <summary>The forward pass's arithmetic (the stage's <c>precision</c>).</summary>
    public StagePrecision Precision { get; init; }

    /// <summary>Threads decoding the images of each training batch (the stage's <c>decode_threads</c>); 1: the feed's own task.</summary>
    public int DecodeThreads { get; init; } = 1;

    /// <summary>Pixels a clip stage's training images are moved by at most, each way (0: not moved).</summary>
    public int RandomShift { get; init; }

    /// <summary>0: evaluate at the end only.</summary>
    public long EvalEvery { get; init; }

    public IReadOnlyList<string> ZeroShotTemplates { get; init; } = [];

    /// <summary>
    /// The class name of label i is entry i: the stage's <c>eval.zero_shot.classes</c> or <c>classes_file</c>, else the
    /// classes the manifest's import recorded (Fashion-MNIST's). Zero-shot scoring and the stages that name classes in
    /// their logs read it.
    /// </summary>
    public IReadOnlyList<string> ClassNames { get; init; } = [];

    public int RetrievalHeldOut { get; init; } = 1000;

    /// <summary>0: a checkpoint at the end only.</summary>
    public long CheckpointEvery { get; init; }

    /// <summary>A checkpoint to resume from (weights, optimizer, step), or null for a fresh start.</summary>
    public string? ResumeFrom { get; init; }

    /// <summary>Torch threads per worker.</summary>
    public int Threads { get; init; } = 1;

    /// <summary>
    /// How long a collective may wait for a peer before the generation is given up on (the spec's
    /// <c>recovery.collective_deadline</c>); null: the collectives' default.
    /// </summary>
    public TimeSpan? CollectiveDeadline { get; init; }

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>B for a generation of <paramref name="worldSize"/> ranks: <see cref="GlobalBatchSize"/>, or W·b when it is 0.</summary>
    public int GlobalBatch(int worldSize) => GlobalBatchSize > 0 ? GlobalBatchSize : worldSize * BatchSize;

    /// <summary>Rank <paramref name="rank"/>'s rows per step in a generation of <paramref name="worldSize"/> ranks (<see cref="BatchSplit"/>).</summary>
    public int RowsPerRank(int worldSize, int rank) => BatchSplit.Rows(GlobalBatch(worldSize), worldSize, rank);

    /// <summary>A reader of the stage's manifest as the spec configures it (image root, limits, duplicate keys, column names).</summary>
    public ParquetManifestReader OpenManifest(string? split) =>
        new(ManifestPath, split, ImageRoot, ReadLimits, DuplicateKeys, ColumnMapping, new UnsplitRows(TrainSplit, TestSplit, UnsplitTestFraction));

    public byte[] ToJsonBytes() => JsonSerializer.SerializeToUtf8Bytes(this, Json);

    public static StageConfig FromJson(ReadOnlySpan<byte> json) =>
        JsonSerializer.Deserialize<StageConfig>(json, Json) ?? throw new InvalidDataException("empty stage config");
}

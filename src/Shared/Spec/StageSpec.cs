
namespace MmCluster.Shared.Spec;

/// <summary>
/// One distributed job over the run's workers. A stage starts when every stage in <see cref="DependsOn"/> is done and may
/// start from an earlier stage's final checkpoint or a safetensors file (<see cref="Init"/>).
/// </summary>
public sealed record StageSpec
{
    public string? Name { get; init; }

    public StageKind? Kind { get; init; }

    public IReadOnlyList<string> DependsOn { get; init; } = [];

    public ModelSpec? Model { get; init; }

    public InitSpec? Init { get; init; }

    /// <summary>Samples per step on each worker (every rank steps with the same local batch).</summary>
    public int? BatchSize { get; init; }

    /// <summary>Optimizer steps; exactly one of <see cref="Steps"/> and <see cref="Epochs"/> is set.</summary>
    public long? Steps { get; init; }

    public int? Epochs { get; init; }

    public OptimizerSpec Optimizer { get; init; } = new();

    public ScheduleSpec Schedule { get; init; } = new();

    /// <summary>Global gradient-norm clip; null means no clipping.</summary>
    public double? GradClip { get; init; }

    /// <summary>
    /// How gradients travel when they are averaged across workers: float32 (exact, the default) or bf16 (half the bytes,
    /// rounded as PyTorch DDP's bf16 compression hook; the contrastive losses' feature gathers stay float32 either way).
    /// </summary>
    public GradientWire? GradientWire { get; init; }

    /// <summary>
    /// Whether gradient buckets are all-reduced during backward as soon as they are ready (true, the default, as DDP
    /// does) or all at once after backward (false: the reference for measuring what the overlap gains). Exact either way.
    /// </summary>
    public bool? GradientOverlap { get; init; }

    /// <summary>
    /// The share of question tokens of each training conversation replaced by another question word of the batch
    /// (<c>question_noise</c>, in [0, 1); stages that train on conversations: lm over a manifest with them, and the chat
    /// kinds). Left out: none.
    /// </summary>
    public double? QuestionNoise { get; init; }

    /// <summary><c>precision</c>: fp32 (left out) or bf16-mixed (clip stages).</summary>
    public StagePrecision? Precision { get; init; }

    /// <summary>
    /// <c>decode_threads</c>: threads that decode the images of each training batch on a worker (1..64). Left out: 1, the
    /// feed's own task decodes them one by one. The batches are the same whatever the count.
    /// </summary>
    public int? DecodeThreads { get; init; }

    /// <summary>
    /// <c>random_shift</c>: clip stages move each training image by up to this many pixels each way (0..8), the border
    /// black (the usual augmentation of small grey images). Left out: 0, none. Evaluation images are never moved.
    /// </summary>
    public int? RandomShift { get; init; }

    public EvalSpec Eval { get; init; } = new();

    /// <summary>Commit a checkpoint every this many steps (and always at the stage's end); null: only at the end.</summary>
    public long? CheckpointEvery { get; init; }
}

namespace MmCluster.Worker.Model.Blip2;

/// <summary>
/// Q-Former hyperparameters (BLIP-2, Li et al. 2023, arXiv:2301.12597; LAVIS blip2_qformer.py): learned queries, BERT-style
/// layers, cross-attention to the image every <see cref="CrossAttentionFrequency"/> layers (LAVIS cross_attention_freq=2),
/// and its text vocabulary: GPT-2 BPE ids plus two ids defined here, [CLS] (<see cref="ClsId"/>) and [DEC] (<see cref="DecId"/>).
/// The defaults are LAVIS's (32 queries, BERT-base sizes); presets are named for run specs.
/// </summary>
public sealed record QFormerConfig
{
    public int Queries { get; init; } = 32;
    public int Width { get; init; } = 768;
    public int Layers { get; init; } = 12;
    public int Heads { get; init; } = 12;
    public int MlpRatio { get; init; } = 4;
    public int CrossAttentionFrequency { get; init; } = 2;

    /// <summary>The caption vocabulary (GPT-2's 50,257 ids); the Q-Former's embedding has two more rows.</summary>
    public int TextVocabSize { get; init; } = 50257;

    public int ContextLength { get; init; } = 32;

    /// <summary>Width of the ITC space (LAVIS embed_dim 256).</summary>
    public int EmbedDim { get; init; } = 256;

    /// <summary>LAVIS's initial ITC temperature (0.07, clamped to [0.001, 0.5]).</summary>
    public double InitTemperature { get; init; } = 0.07;

    /// <summary>
    /// The standard deviation of the normal init of every weight, embedding and query token; null: BERT's initializer_range
    /// 0.02 at BERT-base's width 768, scaled by √(768 / <see cref="Width"/>) so every linear layer keeps BERT-base's gain
    /// at init (<see cref="InitStd"/>).
    /// </summary>
    public double? InitializerRange { get; init; }

    /// <summary>
    /// The init's standard deviation: <see cref="InitializerRange"/>, or 0.02·√(768 / Width). A linear layer of width W
    /// with weights N(0, σ²) scales a unit-variance input by W·σ²: 0.31 for BERT-base; 0.02 at width 128 would give 0.05,
    /// and post-LN layers whose every branch starts that small leave the query outputs ITM reads almost independent of the
    /// image and the text (their mean over the queries varies over the batch by 3% of its spread over the features at
    /// width 128, 15% with this scaling; 0.1% in the 16-wide micro model), so ITM's logits start constant and sit at the
    /// class prior for longer than the schedule runs (docs/benchmarks.md, "ITM that learns").
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public double InitStd => InitializerRange ?? (BertInitializerRange * Math.Sqrt(BertBaseWidth / (double)Width));

    private const double BertInitializerRange = 0.02;
    private const int BertBaseWidth = 768;

    /// <summary>
    /// ITM's cross-entropy weight on its b positives against 1 on its 2b hard negatives. LAVIS's 1 trains the head on a
    /// prior of one match in three, and where the frozen encoder cannot tell an image's class from its look-alikes (the hard
    /// negatives are drawn from those) the head learns to reject its true caption too; 2 makes the two classes weigh the
    /// same, the prior of a balanced evaluation (docs/benchmarks.md, "ITM that learns").
    /// </summary>
    public double ItmPositiveWeight { get; init; } = 1;

    /// <summary>
    /// How hard ITM's negatives are: each is drawn with softmax(sharpness · s / temp) over the ITC similarities s of the
    /// other classes (<see cref="Loss.HardNegativeSampler"/>). LAVIS's 1 draws nearly always the most similar other class,
    /// a look-alike the frozen encoder may not tell apart; 0 draws any other class alike.
    /// </summary>
    public double ItmNegativeSharpness { get; init; } = 1;

    /// <summary>LAVIS's label smoothing for ITC and ITG.</summary>
    public double LabelSmoothing { get; init; } = 0.1;

    /// <summary>Small enough for 2 CPU cores: 8 queries, 2 layers (cross-attention in layer 0), width 128.</summary>
    public static QFormerConfig Tiny { get; } = new() { Queries = 8, Width = 128, Layers = 2, Heads = 4, EmbedDim = 128 };

    /// <summary>For unit tests only.</summary>
    public static QFormerConfig Micro { get; } = new()
    {
        Queries = 4, Width = 16, Layers = 2, Heads = 2, TextVocabSize = 64, ContextLength = 8, EmbedDim = 8,
    };

    public static IReadOnlyDictionary<string, QFormerConfig> Presets { get; } = new Dictionary<string, QFormerConfig>
    {
        ["blip2-tiny"] = Tiny,
        ["blip2-micro"] = Micro,
    };

    /// <summary>The [CLS] token that starts ITC/ITM text: the first id after the caption vocabulary.</summary>
    public long ClsId => TextVocabSize;

    /// <summary>The [DEC] token that starts ITG text (LAVIS replaces [CLS] by bos_token_id).</summary>
    public long DecId => TextVocabSize + 1;

    public int EmbeddingRows => TextVocabSize + 2;

    /// <summary>The last id of the caption vocabulary, GPT-2's &lt;|endoftext|&gt;.</summary>
    public long EndOfText => TextVocabSize - 1;

    public bool HasCrossAttention(int layer) => layer % CrossAttentionFrequency == 0;

    public static QFormerConfig FromPreset(string name) =>
        Presets.TryGetValue(name, out var config)
            ? config
            : throw new ArgumentException($"Unknown Q-Former preset '{name}'; known: {string.Join(", ", Presets.Keys)}.", nameof(name));

    /// <summary>Throws naming the first inconsistent field.</summary>
    public QFormerConfig Validate()
    {
        if (Width % Heads != 0)
        {
            throw new ArgumentException($"Invalid QFormerConfig: Width {Width} is not a multiple of Heads {Heads}.");
        }
        if (!(ItmNegativeSharpness >= 0))
        {
            throw new ArgumentException($"Invalid QFormerConfig: ItmNegativeSharpness {ItmNegativeSharpness} must not be negative.");
        }
        if (!(ItmPositiveWeight > 0))
        {
            throw new ArgumentException($"Invalid QFormerConfig: ItmPositiveWeight {ItmPositiveWeight} must be positive.");
        }
        if (Queries < 1 || Layers < 1 || CrossAttentionFrequency < 1 || ContextLength < 2 || TextVocabSize < 2 || EmbedDim < 1)
        {
            throw new ArgumentException("Invalid QFormerConfig: Queries, Layers, CrossAttentionFrequency, EmbedDim must be positive; ContextLength and TextVocabSize at least 2.");
        }
        return this;
    }
}

using System.Globalization;
using System.Text.Json;
using MmCluster.Shared.Manifest;
using MmCluster.Shared.Runs;
using MmCluster.Shared.Spec;
using MmCluster.Worker.Checkpoints;
using MmCluster.Worker.Model;
using MmCluster.Worker.Model.Blip2;
using MmCluster.Worker.Model.Lm;
using MmCluster.Worker.Training;
using static TorchSharp.torch;

namespace MmCluster.Worker.Runtime;

/// <summary>
/// What a stage of the BLIP-2 schedule (lm, blip2-stage1, blip2-stage2) learns from its <c>init</c> sources before it builds
/// its model: each source's kind and model configs (from the checkpoint's metadata), and the compact caption vocabulary
/// (recorded by an earlier stage of the schedule, else the texts of the manifest, all splits or with <c>vocabulary: train</c>
/// the training split and an unknown token (<see cref="VocabularySource"/>): the same ids on every
/// rank and in every stage). It loads each source into the model by the source's kind: a clip checkpoint's
/// <c>visual.</c> tower into the same <c>visual.</c> names, a blip2-stage1 checkpoint's encoder and Q-Former, an lm checkpoint
/// into <c>lm.</c> (stage 2), a checkpoint of the same kind whole; a user's safetensors file by tensor name.
/// </summary>
internal sealed class Blip2StageInputs
{
    public const string VocabularyKey = "vocabulary";
    public const string VisionConfigKey = "vision_config";
    public const string QFormerConfigKey = "qformer_config";
    public const string LmConfigKey = "lm_config";

    /// <summary>Captions are tokenized this far for the vocabulary (beyond any model's context: a superset of the ids trained on).</summary>
    private const int MaxContext = 128;

    /// <summary>Conversations are tokenized this far for the vocabulary (beyond any chat model's context).</summary>
    private const int ChatContext = 512;

    private Blip2StageInputs(IReadOnlyList<Source> sources, CaptionVocabulary vocabulary, bool conversations)
    {
        Sources = sources;
        Vocabulary = vocabulary;
        HasConversations = conversations;
    }

    /// <summary>Whether the manifest has the <c>conversation</c> column (the lm stage then learns to chat).</summary>
    public bool HasConversations { get; }

    /// <summary>One init source and the metadata of its file (<c>extra.</c> keys without the prefix).</summary>
    public sealed record Source(StageInit Init, string Path, string Kind, IReadOnlyDictionary<string, string> Metadata);

    public IReadOnlyList<Source> Sources { get; }

    public CaptionVocabulary Vocabulary { get; }

    public static async Task<Blip2StageInputs> ResolveAsync(StageConfig config, CancellationToken ct)
    {
        var sources = config.Init.Select(ReadSource).ToList();
        var recorded = sources.Select(s => s.Metadata.GetValueOrDefault(VocabularyKey)).FirstOrDefault(v => !string.IsNullOrEmpty(v));
        var summary = await ParquetManifestReader.InspectAsync(config.ManifestPath, config.ColumnMapping, ct).ConfigureAwait(false);
        var vocabulary = recorded is not null
            ? ParseVocabulary(recorded)
            : await ManifestVocabularyAsync(config, summary, ct).ConfigureAwait(false);
        return new Blip2StageInputs(sources, vocabulary, summary.HasConversation);
    }

    /// <summary>The metadata a stage of the schedule records in its checkpoints so later stages and <c>mmcluster caption</c> can rebuild it.</summary>
    public static Dictionary<string, string> Record(CaptionVocabulary vocabulary, ClipConfig? vision = null, QFormerConfig? qformer = null, CaptionLmConfig? lm = null)
    {
        var record = new Dictionary<string, string> { [VocabularyKey] = string.Join(',', vocabulary.Ids) };
        if (vision is not null)
        {
            record[VisionConfigKey] = JsonSerializer.Serialize(vision);
        }
        if (qformer is not null)
        {
            record[QFormerConfigKey] = JsonSerializer.Serialize(qformer);
        }
        if (lm is not null)
        {
            record[LmConfigKey] = JsonSerializer.Serialize(lm);
        }
        return record;
    }

    public static CaptionVocabulary ParseVocabulary(string ids) =>
        new(ids.Split(',').Select(id => long.Parse(id, CultureInfo.InvariantCulture)));

    /// <summary>The image encoder's config: a clip source's model_config, or one recorded by an earlier BLIP-2 stage.</summary>
    public ClipConfig VisionConfig(StageConfig stage) =>
        Sources.Select(s => s.Kind == "clip" ? Json<ClipConfig>(s, "model_config") : Json<ClipConfig>(s, VisionConfigKey)).FirstOrDefault(c => c is not null)
        ?? throw new InvalidDataException($"stage '{stage.Stage}' ({stage.Kind}) needs the image encoder of a clip stage: init.from names none (it has {Describe()})");

    public QFormerConfig? RecordedQFormer() => Sources.Select(s => Json<QFormerConfig>(s, QFormerConfigKey)).FirstOrDefault(c => c is not null);

    public CaptionLmConfig? RecordedLm() => Sources.Select(s => Json<CaptionLmConfig>(s, LmConfigKey)).FirstOrDefault(c => c is not null);

    /// <summary>Loads every source into <paramref name="model"/>; <paramref name="mappings"/> gives, per source kind, the (source prefix, model prefix) pairs to load.</summary>
    public void LoadInto(nn.Module model, IReadOnlyDictionary<string, (string From, string To)[]> mappings, Action<string> log)
    {
        foreach (var source in Sources)
        {
            if (mappings.TryGetValue(source.Kind, out var pairs))
            {
                var loaded = pairs.Sum(p => WeightLoader.Load(model, source.Path, p.From, p.To));
                log($"initialised {loaded} tensors from {source.Init.From} ({source.Kind}, {source.Path})");
            }
            else
            {
                foreach (var loaded in WeightInitializer.Load(model, [source.Init with { Checkpoint = source.Path }]))
                {
                    log($"initialised {loaded.Loaded} of {loaded.ModelTensors} tensors from {loaded.From} ({loaded.Path}) by name; {loaded.Unused} unused");
                }
            }
        }
    }

    /// <summary>
    /// Freezes the stage's <c>freeze</c> prefixes, reading the clip stage's name of the image tower (<c>visual</c>) as
    /// this model's <c>visual</c> (the same name as in CLIP).
    /// </summary>
    public static int Freeze(nn.Module model, IReadOnlyList<string> prefixes) =>
        prefixes.Count == 0 ? 0 : FrozenParameters.Apply(model, [.. prefixes]);

    private string Describe() => Sources.Count == 0 ? "no init" : string.Join(", ", Sources.Select(s => $"{s.Init.From} ({s.Kind})"));

    private static T? Json<T>(Source source, string key) where T : class =>
        source.Metadata.TryGetValue(key, out var json) && !string.IsNullOrEmpty(json) ? JsonSerializer.Deserialize<T>(json) : null;

    private static Source ReadSource(StageInit init)
    {
        var path = init.Checkpoint ?? throw new InvalidOperationException($"init.from '{init.From}' was not resolved to a checkpoint file");
        var (_, meta) = SafeTensorsFile.Read(path);
        var extra = meta.Where(kv => kv.Key.StartsWith("extra.", StringComparison.Ordinal)).ToDictionary(kv => kv.Key["extra.".Length..], kv => kv.Value);
        if (meta.TryGetValue("model_config", out var modelConfig))
        {
            extra["model_config"] = modelConfig;
        }
        return new Source(init, path, extra.GetValueOrDefault("kind") ?? "file", extra);
    }

    private static async Task<CaptionVocabulary> ManifestVocabularyAsync(StageConfig config, ManifestSummary summary, CancellationToken ct)
    {
        // VocabularySource.Train: the training split's texts only, and the unknown token for every other word.
        var train = config.Vocabulary == VocabularySource.Train;
        await using var reader = config.OpenManifest(split: train ? config.TrainSplit : null);
        var captions = new HashSet<string>(StringComparer.Ordinal);
        var conversations = new HashSet<Conversation>();
        foreach (var shard in ShardPlanner.BuildShards(summary.Files, new ShardPlanOptions()))
        {
            await foreach (var row in reader.ReadShardAsync(shard, cancellationToken: ct).ConfigureAwait(false))
            {
                captions.Add(row.Caption);
                if (row.Conversation is { } conversation)
                {
                    conversations.Add(conversation);
                }
            }
        }
        var tokenizer = new CaptionTokenizer(MaxContext, config.ReadLimits.MaxCaptionChars);
        var ids = captions.SelectMany(tokenizer.Encode);
        if (summary.HasConversation)
        {
            // The chat stages' rows as the template tokenizes them: its own words, the captions as describe answers and
            // every conversation (with the describe exchange the lm stage appends), so every id they meet is in.
            var template = new ConversationTemplate(ChatContext);
            IEnumerable<long> Ids(ConversationTokens t) => t.Inputs.Concat(t.Labels.Where(id => id >= 0));
            ids = ids
                .Concat(captions.SelectMany(c => Ids(template.EncodeCaption(c))))
                .Concat(conversations.SelectMany(c => Ids(template.Encode(c))))
                .Concat(conversations.SelectMany(c => c.Exchanges.SelectMany(e => template.Prompt(e.Question))))   // every question asked first
                .Concat(CaptionTokenizer.EncodeText($"USER: {ConversationTemplate.DescribeInstruction} ASSISTANT:").Select(id => (long)id));
        }
        return new CaptionVocabulary(train ? ids.Append(CaptionVocabulary.UnknownGpt2) : ids);
    }
}

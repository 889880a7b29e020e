using System.Text.Json;
using MmCluster.Worker.Checkpoints;
using MmCluster.Worker.Model;
using MmCluster.Worker.Model.Blip2;
using MmCluster.Worker.Model.Llava;
using MmCluster.Worker.Model.Lm;
using MmCluster.Worker.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MmCluster.Worker.Runtime;

/// <summary>
/// Answers questions about image files with a checkpoint of a chat stage (<c>llava-align</c>, <c>llava-instruct</c>,
/// <c>plora</c>, <c>instructblip</c>; behind <c>mmcluster ask</c>): the checkpoint holds the whole model and records its
/// configs and the vocabulary, so nothing else is needed. The question is asked as the first of a fresh conversation
/// (<see cref="ConversationTemplate.Prompt"/>) and answered greedily. The checkpoint is a file, a stage's checkpoint
/// directory, or a run directory (its chat stage's latest checkpoint: the named <c>stage</c>, else the one written last).
/// </summary>
public sealed class ChatAnswerer : IDisposable
{
    /// <summary>The longest answer by default, in tokens (the stages' evaluation uses the same).</summary>
    public const int DefaultMaxTokens = ChatStageRecipe.DefaultMaxAnswerTokens;

    public static IReadOnlyList<string> Kinds { get; } = ["llava-align", "llava-instruct", "plora", "instructblip"];

    private readonly nn.Module module;
    private readonly IImageChatModel model;
    private readonly CaptionVocabulary vocabulary;
    private readonly ConversationTemplate template;
    private readonly ImageDecoder decoder;
    private readonly CaptionTokenizer? instructions;

    private ChatAnswerer(string path, string kind, nn.Module module, CaptionVocabulary vocabulary, ImageDecoder decoder, int? instructionContext)
    {
        Path = path;
        Kind = kind;
        this.module = module;
        model = (IImageChatModel)module;
        this.vocabulary = vocabulary;
        this.decoder = decoder;
        template = new ConversationTemplate(model.LanguageConfig.ContextLength);
        instructions = instructionContext is { } n ? new CaptionTokenizer(n) : null;
    }

    /// <summary>The checkpoint file loaded.</summary>
    public string Path { get; }

    /// <summary>The stage kind that wrote it.</summary>
    public string Kind { get; }

    /// <summary>Where the model runs: cpu or cuda:N.</summary>
    public string Device => DeviceInputs.DeviceOf(module).ToString();

    /// <param name="device">A resolved device (<see cref="DeviceChoice"/>): cpu or cuda:N.</param>
    public static ChatAnswerer Load(string checkpoint, string? stage = null, string device = DeviceChoice.Cpu)
    {
        var path = CheckpointLookup.Resolve(checkpoint, stage, Kinds);
        var (_, meta) = SafeTensorsFile.Read(path);
        var kind = meta.GetValueOrDefault("extra.kind") ?? "";
        string Extra(string key) => meta.TryGetValue($"extra.{key}", out var value) && !string.IsNullOrEmpty(value)
            ? value
            : throw new InvalidDataException($"{path}: a {kind} checkpoint without '{key}' in its metadata");
        var vision = JsonSerializer.Deserialize<ClipConfig>(Extra(Blip2StageInputs.VisionConfigKey))!;
        var lm = JsonSerializer.Deserialize<CaptionLmConfig>(Extra(Blip2StageInputs.LmConfigKey))!;
        var vocabulary = Blip2StageInputs.ParseVocabulary(Extra(Blip2StageInputs.VocabularyKey));
        QFormerConfig? qformer = null;
        nn.Module module = kind switch
        {
            "llava-align" or "llava-instruct" => new LlavaModel(vision, lm),
            "plora" => new PloraModel(vision, lm, JsonSerializer.Deserialize<PartialLoraConfig>(Extra(PloraTrainingSession.ConfigKey))!),
            "instructblip" => new InstructBlipModel(vision, qformer = JsonSerializer.Deserialize<QFormerConfig>(Extra(Blip2StageInputs.QFormerConfigKey))!, lm),
            _ => throw new InvalidDataException($"{path}: a '{kind}' checkpoint; mmcluster ask answers from {string.Join(", ", Kinds)} checkpoints"),
        };
        try
        {
            WeightLoader.Load(module, path);
            module.eval();
            module.to(new Device(device));
            return new ChatAnswerer(path, kind, module, vocabulary, ImageDecoder.For(vision), qformer?.ContextLength);
        }
        catch
        {
            module.Dispose();
            throw;
        }
    }

    /// <summary>The answer to <paramref name="question"/> about one encoded image (PNG or JPEG).</summary>
    public string Answer(ReadOnlySpan<byte> image, string name, string question, int maxTokens = DefaultMaxTokens)
    {
        using var scope = torch.NewDisposeScope();
        using var _ = no_grad();
        var pixels = tensor(decoder.Decode(image, name), [1, decoder.Channels, decoder.Size, decoder.Size], device: DeviceInputs.DeviceOf(module));
        return ChatGeneration.Answers(model, pixels, [template.Prompt(question)], [question], vocabulary, ids => vocabulary.ToCompact(Known(ids, question)),
            template.ImagePosition, maxTokens, instructions)[0];
    }

    public void Dispose() => module.Dispose();

    /// <summary>The ids, or an error naming the words the model's vocabulary lacks (unless it reads them as its unknown token).</summary>
    private long[] Known(long[] ids, string question)
    {
        var unknown = ids.Where(id => !vocabulary.Contains(id)).Distinct().ToArray();
        return unknown.Length == 0 || vocabulary.Unknown is not null
            ? ids
            : throw new ArgumentException(
                $"the question \"{question}\" has words this model never saw ({string.Join(", ", unknown.Select(id => $"'{CaptionTokenizer.DecodeText([id])}'"))}); "
                + $"its vocabulary holds the {vocabulary.Count} tokens of its manifest");
    }
}

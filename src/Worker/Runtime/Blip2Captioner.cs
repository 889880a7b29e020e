using System.Text.Json;
using MmCluster.Worker.Checkpoints;
using MmCluster.Worker.Model;
using MmCluster.Worker.Model.Blip2;
using MmCluster.Worker.Model.Lm;
using MmCluster.Worker.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MmCluster.Worker.Runtime;

/// <summary>
/// Captions image files with a run's <c>blip2-stage2</c> checkpoint (behind <c>mmcluster caption</c>). The checkpoint is
/// self-contained: it holds the whole stage-2 model (frozen image encoder and language model included) and records the
/// model configs and the caption vocabulary (<see cref="Blip2StageInputs.Record"/>). The checkpoint is a file, a stage's
/// checkpoint directory (its latest <c>step-*.safetensors</c>) or a run directory (the latest checkpoint of its
/// blip2-stage2 stage).
/// </summary>
public sealed class Blip2Captioner : IDisposable
{
    private readonly Blip2Stage2Model model;
    private readonly CaptionVocabulary vocabulary;
    private readonly CaptionTokenizer tokenizer;
    private readonly ImageDecoder decoder;

    private Blip2Captioner(string path, Blip2Stage2Model model, CaptionVocabulary vocabulary, ImageDecoder decoder)
    {
        Path = path;
        this.model = model;
        this.vocabulary = vocabulary;
        this.decoder = decoder;
        tokenizer = new CaptionTokenizer(model.LanguageModel.Config.ContextLength);
    }

    /// <summary>The checkpoint file loaded.</summary>
    public string Path { get; }

    /// <summary>Where the model runs: cpu or cuda:N.</summary>
    public string Device => DeviceInputs.DeviceOf(model).ToString();

    /// <param name="device">A resolved device (<see cref="DeviceChoice"/>): cpu or cuda:N.</param>
    public static Blip2Captioner Load(string checkpoint, string device = DeviceChoice.Cpu)
    {
        var path = CheckpointLookup.Resolve(checkpoint, stage: null, ["blip2-stage2"]);
        var (_, meta) = SafeTensorsFile.Read(path);
        string Extra(string key) => meta.TryGetValue($"extra.{key}", out var value) && !string.IsNullOrEmpty(value)
            ? value
            : throw new InvalidDataException($"{path}: not a blip2-stage2 checkpoint (no '{key}' in its metadata)");
        var vision = JsonSerializer.Deserialize<ClipConfig>(Extra(Blip2StageInputs.VisionConfigKey))!;
        var qformer = JsonSerializer.Deserialize<QFormerConfig>(Extra(Blip2StageInputs.QFormerConfigKey))!;
        var lm = JsonSerializer.Deserialize<CaptionLmConfig>(Extra(Blip2StageInputs.LmConfigKey))!;
        var vocabulary = Blip2StageInputs.ParseVocabulary(Extra(Blip2StageInputs.VocabularyKey));
        var model = new Blip2Stage2Model(vision, qformer, lm);
        try
        {
            WeightLoader.Load(model, path);
            model.eval();
            model.to(new Device(device));
            return new Blip2Captioner(path, model, vocabulary, ImageDecoder.For(vision));
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The caption of one encoded image (PNG or JPEG): greedy for <paramref name="beams"/> 1, else beam search; with the
    /// key-value cache unless <paramref name="useCache"/> is false (the same caption, slower).
    /// </summary>
    public string Caption(ReadOnlySpan<byte> image, string name, int beams = 1, int maxTokens = 16, bool useCache = true)
    {
        using var scope = torch.NewDisposeScope();
        using var _ = no_grad();
        var pixels = tensor(decoder.Decode(image, name), [1, decoder.Channels, decoder.Size, decoder.Size], device: DeviceInputs.DeviceOf(model));
        var ids = beams <= 1
            ? CaptionGenerator.Greedy(model, pixels, maxTokens, useCache)[0]
            : CaptionGenerator.Beam(model, pixels, beams, maxTokens, useCache: useCache);
        return tokenizer.Decode([.. vocabulary.ToGpt2(ids), CaptionTokenizer.EndOfText]);
    }

    public void Dispose() => model.Dispose();
}

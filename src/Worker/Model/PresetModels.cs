using MmCluster.Shared.Spec;
using MmCluster.Worker.Model.Blip2;
using MmCluster.Worker.Model.Llava;
using MmCluster.Worker.Model.Lm;
using static TorchSharp.torch;

namespace MmCluster.Worker.Model;

/// <summary>
/// The model a preset of <see cref="ModelPresetCatalog"/> names, built on its own with fresh weights, for inspection
/// (<c>mmcluster model info</c>). A clip or lm preset is the whole model. The other presets configure one part of a
/// model whose other parts a run takes from earlier stages' checkpoints; here those are the example specs' choices:
/// the clip-mini image tower, lm-tiny as the language model of blip2-stage2 and lm-chat for instructblip, llava and
/// plora (<see cref="Companions"/>). Text vocabularies are GPT-2's 50,257 ids; a staged run compacts the Q-Former's and
/// the language model's to the words of its captions, so their embedding tables are smaller there.
/// </summary>
public static class PresetModels
{
    private static readonly ClipConfig Vision = ClipConfig.Mini;

    /// <summary>The stage kind a preset is built for when none is asked for: the first it serves.</summary>
    public static StageKind DefaultKind(ModelPreset preset) => preset.Kinds[0];

    /// <summary>Builds <paramref name="preset"/>'s model for a stage of <paramref name="kind"/> (one the preset serves).</summary>
    public static nn.Module Build(ModelPreset preset, StageKind kind)
    {
        if (!preset.Kinds.Contains(kind))
        {
            throw new ArgumentException(
                $"preset '{preset.Name}' does not serve {kind.ToName()} stages; it serves {string.Join(", ", preset.Kinds.Select(k => k.ToName()))}", nameof(kind));
        }
        return kind switch
        {
            StageKind.Clip => new ClipModel(ClipConfig.FromPreset(preset.Name)),
            StageKind.Lm => new CaptionLm(CaptionLmConfig.FromPreset(preset.Name)),
            StageKind.Blip2Stage1 => new Blip2Stage1Model(Vision, QFormerConfig.FromPreset(preset.Name)),
            StageKind.Blip2Stage2 => new Blip2Stage2Model(Vision, QFormerConfig.FromPreset(preset.Name), CaptionLmConfig.Tiny),
            StageKind.InstructBlip => new InstructBlipModel(Vision, QFormerConfig.FromPreset(preset.Name), CaptionLmConfig.Chat),
            StageKind.LlavaAlign or StageKind.LlavaInstruct => new LlavaModel(Vision, CaptionLmConfig.Chat),
            StageKind.Plora => new PloraModel(Vision, CaptionLmConfig.Chat, new PartialLoraConfig().Validate()),
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "no model for this stage kind"),
        };
    }

    /// <summary>The parts <see cref="Build"/> took from other presets for a stage of <paramref name="kind"/> (empty for clip and lm).</summary>
    public static IReadOnlyList<string> Companions(StageKind kind) => kind switch
    {
        StageKind.Clip or StageKind.Lm => [],
        StageKind.Blip2Stage1 => ["image tower: clip-mini"],
        StageKind.Blip2Stage2 => ["image tower: clip-mini", "language model: lm-tiny"],
        _ => ["image tower: clip-mini", "language model: lm-chat"],
    };
}

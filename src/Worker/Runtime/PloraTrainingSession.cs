using System.Globalization;
using System.Text.Json;
using MmCluster.Collectives.Ring;
using MmCluster.Worker.Model.Llava;
using MmCluster.Worker.Model.Lm;
using MmCluster.Worker.Training;

namespace MmCluster.Worker.Runtime;

/// <summary>
/// The worker's trainer for a <c>plora</c> stage (InternLM-XComposer2's Partial LoRA, <see cref="PloraModel"/>): the
/// clip stage's image tower and the lm stage's language model (which learned the conversations text only), both frozen;
/// a new projector and low-rank deltas on the language model's attention and feed-forward layers, added at the image
/// tokens' positions only (rank and alpha: the preset fields <c>lora_rank</c>, <c>lora_alpha</c>), trained on the
/// conversations' answers. Text-only input gives the base language model's output exactly. Evaluated on the test
/// split's held-out questions. Its checkpoints record the deltas' config (<see cref="ConfigKey"/>). Trains and evaluates
/// on <paramref name="device"/>.
/// </summary>
public sealed class PloraTrainingSession(CollectiveServer server, Action<string> log, Action<Exception> fail, string device = DeviceChoice.Cpu)
    : StageTrainingSession(server, log, fail)
{
    public const string ConfigKey = "plora_config";

    private protected override Task<IStageTrainer> CreateTrainerAsync(StageContext context, CancellationToken ct)
    {
        var deltas = ConfigOf(context.Config.ModelOverrides);
        return ChatStageRecipe.BuildAsync(
            context, "plora", (_, vision, lm) => new PloraModel(vision, lm, deltas), _ => PloraModel.FrozenPrefixes, ChatSource.Conversations, questions: true,
            new Dictionary<string, (string From, string To)[]>
            {
                ["clip"] = [("visual.", PloraModel.VisualEncoder + ".")],
                ["lm"] = [("", PloraModel.LanguageModelModule + ".")],
                ["plora"] = [("", "")],
            },
            _ => new Dictionary<string, string> { [ConfigKey] = JsonSerializer.Serialize(deltas) }, device, ct);
    }

    /// <summary>The deltas' rank and alpha from the preset fields <c>lora_rank</c> and <c>lora_alpha</c> (defaults otherwise).</summary>
    public static PartialLoraConfig ConfigOf(IReadOnlyDictionary<string, string> overrides)
    {
        var config = new PartialLoraConfig();
        if (overrides.TryGetValue("lora_rank", out var rank))
        {
            config = config with { Rank = int.Parse(rank, CultureInfo.InvariantCulture) };
        }
        if (overrides.TryGetValue("lora_alpha", out var alpha))
        {
            config = config with { Alpha = double.Parse(alpha, CultureInfo.InvariantCulture) };
        }
        return config.Validate();
    }
}

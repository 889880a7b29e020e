using System.Text.Json;
using MmCluster.Collectives.Ring;
using MmCluster.Worker.Model.Blip2;
using MmCluster.Worker.Training;

namespace MmCluster.Worker.Runtime;

/// <summary>
/// The worker's trainer for an <c>instructblip</c> stage (<see cref="InstructBlipModel"/>): from a blip2-stage2
/// checkpoint (image encoder, Q-Former, projection and language model, loaded whole by name), the instruction's
/// Q-Former tokens appended after the queries (shared self-attention, only the queries cross-attend to the image and
/// reach the language model); the image encoder and the language model frozen, the Q-Former and the projection trained
/// on one exchange per row (the same for the row every time), answers supervised. Evaluated on the test split's
/// held-out questions, each read by the Q-Former as well. Trains and evaluates on <paramref name="device"/>.
/// </summary>
public sealed class InstructBlipTrainingSession(CollectiveServer server, Action<string> log, Action<Exception> fail, string device = DeviceChoice.Cpu)
    : StageTrainingSession(server, log, fail)
{
    private protected override Task<IStageTrainer> CreateTrainerAsync(StageContext context, CancellationToken ct) =>
        ChatStageRecipe.BuildAsync(
            context, "instructblip",
            (inputs, vision, lm) => new InstructBlipModel(vision, QFormerOf(inputs, context), lm),
            model => model.FrozenPrefixes, ChatSource.OneExchange, questions: true,
            new Dictionary<string, (string From, string To)[]>
            {
                ["blip2-stage2"] = [("", "")],
                ["instructblip"] = [("", "")],
            },
            model => new Dictionary<string, string> { [Blip2StageInputs.QFormerConfigKey] = JsonSerializer.Serialize(model.QFormer.Config) }, device, ct,
            instructionContext: inputs => QFormerOf(inputs, context).ContextLength);

    private static QFormerConfig QFormerOf(Blip2StageInputs inputs, StageContext context) =>
        inputs.RecordedQFormer()
            ?? throw new InvalidDataException($"stage '{context.Config.Stage}' (instructblip) needs a blip2-stage2 checkpoint in init.from for its Q-Former");
}

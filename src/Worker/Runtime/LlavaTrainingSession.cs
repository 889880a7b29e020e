using MmCluster.Collectives.Ring;
using MmCluster.Worker.Model.Llava;
using MmCluster.Worker.Training;

namespace MmCluster.Worker.Runtime;

/// <summary>
/// The worker's trainer for LLaVA's two stages (<see cref="LlavaModel"/>). <c>llava-align</c>: the clip stage's image
/// tower and the lm stage's language model, both frozen, and a new two-layer MLP projector trained on captions (each the
/// answer to the describe instruction); evaluated by how often the description of a test image names its class
/// (<c>names_class</c>). <c>llava-instruct</c>: from the llava-align checkpoint, projector and language model trained on
/// the manifest's conversations with only the answers supervised (<see cref="ConversationTemplate"/>); evaluated on the
/// test split's held-out questions (<see cref="Evaluation.ChatEvaluator"/>). Trains and evaluates on <paramref name="device"/>.
/// </summary>
public sealed class LlavaTrainingSession(CollectiveServer server, Action<string> log, Action<Exception> fail, bool instruct, string device = DeviceChoice.Cpu)
    : StageTrainingSession(server, log, fail)
{
    private protected override Task<IStageTrainer> CreateTrainerAsync(StageContext context, CancellationToken ct) =>
        ChatStageRecipe.BuildAsync(
            context, instruct ? "llava-instruct" : "llava-align", (_, vision, lm) => new LlavaModel(vision, lm),
            _ => instruct ? LlavaModel.InstructFrozenPrefixes : LlavaModel.AlignFrozenPrefixes,
            instruct ? ChatSource.Conversations : ChatSource.Captions, questions: instruct,
            new Dictionary<string, (string From, string To)[]>
            {
                ["clip"] = [("visual.", LlavaModel.VisualEncoder + ".")],
                ["lm"] = [("", LlavaModel.LanguageModelModule + ".")],
                ["llava-align"] = [("", "")],
                ["llava-instruct"] = [("", "")],
            },
            _ => new Dictionary<string, string>(), device, ct);
}

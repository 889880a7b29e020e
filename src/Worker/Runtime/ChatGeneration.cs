using MmCluster.Worker.Model;
using MmCluster.Worker.Training;
using static TorchSharp.torch;

namespace MmCluster.Worker.Runtime;

/// <summary>
/// Greedy answers of a chat model to a batch of questions about a batch of images, as the chat stages' evaluation and
/// <c>mmcluster ask</c> both generate them. The caller holds the dispose scope and <c>no_grad</c>.
/// </summary>
public static class ChatGeneration
{
    /// <param name="prompts">Each question's prompt (<see cref="ConversationTemplate.Prompt"/>) in GPT-2 ids, all of one length.</param>
    /// <param name="questions">The questions' text, for a model that reads the instruction beside the image.</param>
    /// <param name="toCompact">GPT-2 ids to the model's compact ids (the place to refuse words it never saw).</param>
    public static IReadOnlyList<string> Answers(
        IImageChatModel model, Tensor images, long[][] prompts, string[] questions, CaptionVocabulary vocabulary, Func<long[], long[]> toCompact,
        long imagePosition, int maxTokens, CaptionTokenizer? instructions)
    {
        var promptIds = tensor(prompts.SelectMany(toCompact).ToArray(), [prompts.Length, prompts[0].Length], device: images.device);   // where the images are: the model's device
        var instructionIds = instructions is null
            ? null
            : tensor(toCompact(BatchBuilder.InstructionRows(questions, instructions)), [questions.Length, instructions.ContextLength], device: images.device);
        var generated = model.Generate(images, promptIds, imagePosition, maxTokens, vocabulary.EndOfText, instructionIds);
        return [.. generated.Select(g => ConversationTemplate.Answer(vocabulary.ToGpt2(g)))];
    }
}

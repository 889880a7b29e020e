using System.Globalization;
using MmCluster.Shared.Runs;
using MmCluster.Worker.Distributed;
using MmCluster.Worker.Model.Lm;
using MmCluster.Worker.Evaluation;
using MmCluster.Worker.Model;
using MmCluster.Worker.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MmCluster.Worker.Runtime;

/// <summary>
/// What the chat stages (llava-align, llava-instruct, instructblip, plora) share besides <see cref="CaptionStageRecipe"/>: their
/// evaluation on the first <c>eval.retrieval.held_out</c> test images (split over the ranks) and the counts of
/// conversation rows that trained partly or not at all.
/// </summary>
internal static class ChatStageRecipe
{
    /// <summary>
    /// Builds a chat stage's trainer: the image tower's config from the clip source (or one recorded by an earlier chat
    /// stage), the language model's from the lm source (or recorded), rows through the <see cref="ConversationTemplate"/>
    /// as <paramref name="source"/> says, the model from <paramref name="create"/> with <paramref name="frozen"/> frozen,
    /// evaluation on held-out questions (<paramref name="questions"/>) or descriptions, checkpoints recording the
    /// vocabulary, both configs and <paramref name="extra"/>. Model, steps and generation on the worker's
    /// <paramref name="device"/>; batches and gradient buckets staged (<see cref="HostStaging"/>).
    /// </summary>
    public static async Task<IStageTrainer> BuildAsync<TModel>(
        StageContext context, string kind, Func<Blip2StageInputs, ClipConfig, CaptionLmConfig, TModel> create, Func<TModel, IReadOnlyList<string>> frozen,
        ChatSource source, bool questions, IReadOnlyDictionary<string, (string From, string To)[]> mappings,
        Func<TModel, IReadOnlyDictionary<string, string>> extra, string device, CancellationToken ct, Func<Blip2StageInputs, int>? instructionContext = null)
        where TModel : nn.Module, IImageChatModel
    {
        var config = context.Config;
        var inputs = await Blip2StageInputs.ResolveAsync(config, ct);
        var vision = inputs.VisionConfig(config);
        var lm = inputs.RecordedLm()
            ?? throw new InvalidDataException($"stage '{config.Stage}' ({kind}) needs an lm checkpoint (or one of an earlier chat stage) in init.from for its language model");
        var decoder = ImageDecoder.For(vision).Within(config.ReadLimits);
        var template = new ConversationTemplate(lm.ContextLength);
        var evalSlices = new EvaluationSlices(config, decoder, context.Group);
        var instructions = instructionContext is null ? null : new CaptionTokenizer(instructionContext(inputs), config.ReadLimits.MaxCaptionChars);
        var batches = new BatchBuilder(decoder, new CaptionTokenizer(lm.ContextLength, config.ReadLimits.MaxCaptionChars), template, source, instructions, NoiseOf(context, inputs.Vocabulary),
            cropSeed: (ulong)config.Seed);   // RGB: OpenCLIP's random-resized-crop
        var maxTokens = MaxAnswerTokens(config);
        var staging = StageTrainingSession.StagingFor(device, context.Log);
        var chat = create(inputs, vision, lm);
        chat.to(staging.Device);   // before the optimizer exists: its AdamW state is created beside the parameters
        return StageTrainer<TModel, ChatStep<TModel>>.Build(context, chat, CaptionStageRecipe.Create<TModel, ChatStep<TModel>>(
            context, inputs, batches, mappings,
            (model, averager) => new ChatStep<TModel>(model, frozen(model), StageTrainingSession.OptionsOf(config), averager, new GroupBatchLayout(context.Group, config.GlobalBatch(context.WorldSize)), staging),
            (model, step) => Evaluate(context, model, step, evalSlices.Current(), decoder, template, inputs.Vocabulary, questions, maxTokens, instructions),
            model =>
            {
                var record = Blip2StageInputs.Record(inputs.Vocabulary, vision: vision, lm: model.LanguageConfig);
                foreach (var (key, value) in extra(model))
                {
                    record[key] = value;
                }
                return record;
            }, staging));
    }

    /// <summary>
    /// The stage's <c>question_noise</c> on its training conversations (logged), or null for none: question tokens
    /// replaced by the vocabulary's unknown token when it has one (word dropout), else by other question words.
    /// </summary>
    internal static QuestionNoise? NoiseOf(StageContext context, CaptionVocabulary vocabulary)
    {
        if (context.Config.QuestionNoise <= 0)
        {
            return null;
        }
        var by = vocabulary.Unknown is null ? "other question words" : "the unknown token";
        context.Log($"question noise: {context.Config.QuestionNoise:P0} of the training questions' tokens replaced by {by}");
        return new QuestionNoise(context.Config.QuestionNoise, vocabulary.Unknown is null ? null : CaptionVocabulary.UnknownGpt2);
    }

    public const int DefaultMaxAnswerTokens = 12;

    /// <summary>The preset field <c>max_answer_tokens</c>, else <see cref="DefaultMaxAnswerTokens"/>.</summary>
    public static int MaxAnswerTokens(StageConfig config) =>
        config.ModelOverrides.TryGetValue("max_answer_tokens", out var value) ? int.Parse(value, CultureInfo.InvariantCulture) : DefaultMaxAnswerTokens;

    /// <summary>
    /// Asks every held-out question of this rank's test images (<paramref name="questions"/>), or, without questions, has
    /// each image described and scores whether the description names its class only (<c>names_class</c>); sums over the
    /// ranks. Every rank makes the same collective calls.
    /// </summary>
    public static IReadOnlyDictionary<string, double> Evaluate<TModel>(
        StageContext context, TModel model, ChatStep<TModel> step, EvaluationSet evalSet, ImageDecoder decoder, ConversationTemplate template,
        CaptionVocabulary vocabulary, bool questions, int maxTokens, CaptionTokenizer? instructions)
        where TModel : nn.Module, IImageChatModel
    {
        var config = context.Config;
        var images = Math.Min(evalSet.Count, Math.Max(1, config.RetrievalHeldOut / context.Group.WorldSize));
        var generate = Generator(model, evalSet, decoder, vocabulary, maxTokens, template.ImagePosition, instructions);
        Dictionary<string, double> metrics;
        if (questions)
        {
            var asked = ChatEvaluator.Questions(evalSet.Conversations.Take(images).ToArray());
            var answers = ChatEvaluator.Ask(asked, template, generate);
            context.Log($"answers: {string.Join(" | ", answers.Take(4).Select(a => $"{a.Question.Question} -> {a.Answer} ({(a.Right ? "right" : $"expected {a.Question.Expected}")})"))}");
            context.Log($"most frequent wrong answers: {string.Join(" | ", ChatEvaluator.CommonErrors(answers, top: 12))}");
            metrics = ChatEvaluator.Metrics(SumOverRanks(context.Group, ChatEvaluator.Counts(answers)));
        }
        else
        {
            var classes = config.ClassNames;
            var scored = classes.Count > 0 && evalSet.Labels.Take(images).All(l => l >= 0 && l < classes.Count) ? images : 0;
            var asked = Enumerable.Range(0, scored).Select(i => new ChatQuestion(i, ConversationTemplate.DescribeInstruction, evalSet.Captions[i], "describe")).ToArray();
            var answers = ChatEvaluator.Ask(asked, template, generate);
            context.Log($"descriptions: {string.Join(" | ", answers.Take(4).Select(a => $"{classes[evalSet.Labels[a.Question.Image]]}: {a.Answer}"))}");
            var named = answers.Count(a => Blip2Evaluator.NamesOnly(a.Answer, evalSet.Labels[a.Question.Image], classes));
            var sums = SumOverRanks(context.Group, [named, answers.Count]);
            metrics = sums[1] == 0 ? [] : new Dictionary<string, double> { ["names_class"] = sums[0] / sums[1], ["described_images"] = sums[1] };
        }
        var outcomes = SumOverRanks(context.Group, [.. step.Outcomes.Select(n => (float)n)]);
        foreach (var outcome in Enum.GetValues<ConversationOutcome>().Where(o => o != ConversationOutcome.Whole))
        {
            metrics[$"conversations.{OutcomeName(outcome)}"] = outcomes[(int)outcome];
        }
        return metrics;
    }

    /// <summary>truncated, too_long, unaligned.</summary>
    public static string OutcomeName(ConversationOutcome outcome) =>
        string.Concat(outcome.ToString().Select((c, i) => char.IsUpper(c) ? (i > 0 ? "_" : "") + char.ToLowerInvariant(c) : c.ToString()));

    private static float[] SumOverRanks(Collectives.ICollectiveGroup group, float[] values) => StageTrainingSession.SumOverRanks(group, values);

    /// <summary>Greedy answers of <paramref name="model"/> for (image indices, GPT-2 prompts of equal length).</summary>
    public static Func<int[], long[][], string[], IReadOnlyList<string>> Generator<TModel>(
        TModel model, EvaluationSet evalSet, ImageDecoder decoder, CaptionVocabulary vocabulary, int maxTokens, long imagePosition,
        CaptionTokenizer? instructions)
        where TModel : nn.Module, IImageChatModel => (indices, prompts, questions) =>
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        model.eval();
        var per = decoder.ValuesPerImage;
        var pixels = new float[indices.Length * per];
        for (var i = 0; i < indices.Length; i++)
        {
            evalSet.Pixels.AsSpan(indices[i] * per, per).CopyTo(pixels.AsSpan(i * per, per));
        }
        var images = tensor(pixels, [indices.Length, decoder.Channels, decoder.Size, decoder.Size], device: DeviceInputs.DeviceOf(model));   // generated where the model trains
        return ChatGeneration.Answers(model, images, prompts, questions, vocabulary, ids => vocabulary.ToCompact(ids), imagePosition, maxTokens, instructions);
    };
}

using MmCluster.Worker.Model.Lm;
using MmCluster.Worker.Model.Loss;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace MmCluster.Worker.Model.Llava;

/// <summary>
/// What LLaVA and the Partial LoRA model share (LLaVA, Liu et al. 2023, arXiv:2304.08485; llava_arch.py): a CLIP image
/// tower under <c>visual</c> (CLIP's own <see cref="VisionTransformer"/> and names, so a clip checkpoint's <c>visual.*</c>
/// loads by name), whose patch tokens from the second-to-last block (class token dropped) go through <c>mm_projector</c>
/// (LLaVA-1.5's mlp2x_gelu: Linear, GELU, Linear; keys <c>mm_projector.0.*</c> and <c>mm_projector.2.*</c> as in LLaVA)
/// into the language model <c>lm</c> (<see cref="CaptionLm"/>) at a text position (<see cref="ImageSplice"/>). A frozen
/// tower runs under no_grad, as does a frozen language model's token lookup.
/// </summary>
public abstract class VisionLanguageModel : nn.Module, IImageChatModel
{
    /// <summary>The image tower's module path, the same as <see cref="ClipModel"/>'s.</summary>
    public const string VisualEncoder = "visual";

    public const string Projector = "mm_projector";

    /// <summary>The language model's module path (its checkpoint's names get this prefix).</summary>
    public const string LanguageModelModule = "lm";

    private readonly VisionTransformer visual;
    private readonly Sequential mm_projector;
    // mm_projector.0 and .2, run one by one so autocast reaches them; a tuple, so RegisterComponents does not register
    // them a second time under other names.
    private readonly (Linear In, Linear Out) projector;
    private readonly CaptionLm lm;

    protected VisionLanguageModel(string name, ClipConfig vision, CaptionLmConfig languageModel) : base(name)
    {
        VisionConfig = vision.Validate();
        visual = new VisionTransformer(vision);
        visual.ResetParameters();
        projector = (Linear(vision.VisionWidth, languageModel.Width), Linear(languageModel.Width, languageModel.Width));
        mm_projector = Sequential(projector.In, GELU(), projector.Out);
        lm = new CaptionLm(languageModel);
        register_module(nameof(visual), visual);   // private base fields: RegisterComponents of the
        register_module(nameof(mm_projector), mm_projector);       // derived class does not see them
        register_module(nameof(lm), lm);
    }

    public ClipConfig VisionConfig { get; }

    public CaptionLm LanguageModel => lm;

    public CaptionLmConfig LanguageConfig => lm.Config;

    /// <summary>Image tokens per image: one per patch (the class token is dropped).</summary>
    public long ImageTokenCount => VisionConfig.PatchesPerSide * VisionConfig.PatchesPerSide;

    /// <summary>The tower's blocks that run: all but the last (LLaVA's mm_vision_select_layer = -2).</summary>
    public int FeatureLayers => Math.Max(visual.Layers - 1, 0);

    /// <summary>(B, C, H, W) -> (B, P, VisionWidth): the patch tokens after <see cref="FeatureLayers"/> blocks.</summary>
    public Tensor ImageFeatures(Tensor images)
    {
        using var hidden = HiddenTokens(images);                          // (B, P+1, Wv)
        return hidden.narrow(1, 1, hidden.shape[1] - 1);                   // LLaVA's select_feature 'patch'
    }

    /// <summary>(B, C, H, W) -> (B, P, LmWidth): the projected image tokens.</summary>
    public Tensor ImageTokens(Tensor images)
    {
        using var features = ImageFeatures(images);
        using var h = MixedPrecision.Linear(projector.In, features);
        using var a = functional.gelu(h);
        return MixedPrecision.Linear(projector.Out, a);
    }

    /// <summary>
    /// (B, C, H, W) images and (B, T) text ids -> (B, P+T, LmWidth) final hidden states, the P image tokens at text
    /// position <paramref name="imagePosition"/> (<see cref="ImageSplice"/>).
    /// </summary>
    public Tensor Forward(Tensor images, Tensor inputIds, long imagePosition)
    {
        using var image = ImageTokens(images);
        return Decode(image, inputIds, imagePosition);
    }

    /// <summary>
    /// (B, P, LmWidth) image tokens and (B, T) text ids -> (B, P+T, LmWidth) final hidden states; with an empty
    /// <paramref name="cache"/> the P+T positions stay cached.
    /// </summary>
    public Tensor Decode(Tensor imageTokens, Tensor inputIds, long imagePosition, KeyValueCache? cache = null)
    {
        using var text = lm.EmbedInputs(inputIds, 0);                      // (B, T, W), text positions 0..T-1
        using var sequence = ImageSplice.Embeddings(text, imageTokens, imagePosition);
        var deltas = ImageDeltas;
        if (deltas is null)
        {
            return lm.ForwardEmbeddings(sequence, cache);
        }
        using var mask = ImageSplice.Mask(inputIds.shape[0], inputIds.shape[1], imagePosition, imageTokens.shape[1], inputIds.device);
        return lm.ForwardEmbeddings(sequence, cache, deltas.At(mask));
    }

    /// <summary>
    /// The language-model loss: (B, T) <paramref name="labels"/> are shifted text labels, labels[t] the id after text
    /// token t, -100 where not supervised (<see cref="ImageSplice"/> places them; image tokens are never targets).
    /// </summary>
    public Tensor Loss(Tensor images, Tensor inputIds, Tensor labels, long imagePosition, Tensor? instructionIds = null)
    {
        using var hidden = Forward(images, inputIds, imagePosition);       // (B, P+T, W)
        using var sequenceLabels = ImageSplice.Labels(labels, imagePosition, hidden.shape[1] - inputIds.shape[1]);
        return LanguageModelLoss.Compute(hidden, sequenceLabels, lm.OutputWeight);
    }

    /// <summary>
    /// Greedy answers with the key-value cache: the image at <paramref name="imagePosition"/> of each (B, T) prompt (every
    /// row the same length T), then one token per step; returns each row's ids up to, not including, <paramref name="endOfText"/>.
    /// </summary>
    public long[][] Generate(Tensor images, Tensor promptIds, long imagePosition, int maxTokens, long endOfText, Tensor? instructionIds = null)
    {
        using var _ = no_grad();
        using var image = ImageTokens(images);
        return PromptedGreedy.Run(lm, image.shape[1] + promptIds.shape[1], promptIds.shape[1], maxTokens, endOfText,
            cache => Decode(image, promptIds, imagePosition, cache));
    }

    /// <summary>Deltas added at the image tokens' positions (Partial LoRA), or null: the language model as it is.</summary>
    protected virtual PartialLora? ImageDeltas => null;

    private Tensor HiddenTokens(Tensor images)
    {
        if (visual.parameters().Any(p => p.requires_grad))
        {
            return visual.ForwardHidden(images, FeatureLayers);
        }
        using var _ = no_grad();
        return visual.ForwardHidden(images, FeatureLayers);
    }
}

using MmCluster.Worker.Model.Lm;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch.nn;
using static TorchSharp.torch;

namespace MmCluster.Worker.Model.Blip2;

/// <summary>
/// BLIP-2's generative half, shared by <see cref="Blip2Stage2Model"/> and <see cref="InstructBlipModel"/> (LAVIS
/// blip2_opt.py and blip2_vicuna_instruct.py): <c>llm_proj</c> (one Linear from the Q-Former's width to the language
/// model's) and the language model <c>lm</c> (<see cref="CaptionLm"/>), which reads the projected query outputs as a soft
/// prompt before its text. The names are registered after <see cref="Blip2Base"/>'s, so every state_dict key and its order
/// is the same in both models and a blip2-stage2 checkpoint loads into either by name.
/// </summary>
public abstract class Blip2PrefixLmBase : Blip2Base
{
    /// <summary>The language model's module path (its checkpoint's names get this prefix, see WeightLoader).</summary>
    public const string LanguageModelModule = "lm";

    private readonly Linear llm_proj;
    private readonly CaptionLm lm;

    protected Blip2PrefixLmBase(string name, ClipConfig vision, QFormerConfig qformer, CaptionLmConfig languageModel)
        : base(name, vision, qformer)
    {
        llm_proj = Linear(qformer.Width, languageModel.Width);
        lm = new CaptionLm(languageModel);
        register_module(nameof(llm_proj), llm_proj);   // private base fields: RegisterComponents of the
        register_module(nameof(lm), lm);                                // derived class does not see them
    }

    public CaptionLm LanguageModel => lm;

    /// <summary>
    /// (B, Q, LmWidth) prefix and (B, T) LM inputs -> (B, Q+T, LmWidth) final hidden states. With an empty
    /// <paramref name="cache"/> (<see cref="CaptionLm.NewCache"/>, room for Q + caption positions) the keys and values of
    /// the Q+T positions stay cached for <see cref="DecodeNext"/>.
    /// </summary>
    public Tensor Decode(Tensor prefix, Tensor inputs, KeyValueCache? cache = null)
    {
        if (cache is { Length: > 0 })
        {
            throw new ArgumentException("Decode starts a sequence: the cache must be empty (DecodeNext continues one)", nameof(cache));
        }
        using var embedded = lm.EmbedInputs(inputs, 0);
        using var sequence = cat([prefix, embedded], 1);
        return lm.ForwardEmbeddings(sequence, cache);
    }

    /// <summary>
    /// (B, t) LM inputs at caption positions <paramref name="position"/>..position+t-1, after the prefix and inputs already in
    /// <paramref name="cache"/> -> (B, t, LmWidth) final hidden states; the t positions are cached in turn.
    /// </summary>
    public Tensor DecodeNext(Tensor inputs, KeyValueCache cache, long position)
    {
        using var embedded = lm.EmbedInputs(inputs, position);
        return lm.ForwardEmbeddings(embedded, cache);
    }

    /// <summary>(B, Q, QFormerWidth) query outputs -> (B, Q, LmWidth): the soft prompt.</summary>
    protected Tensor Project(Tensor queries) => MixedPrecision.Linear(llm_proj, queries);
}

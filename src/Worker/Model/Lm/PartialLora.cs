using MmCluster.Worker.Torch;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MmCluster.Worker.Model.Lm;

/// <summary>
/// Partial LoRA (InternLM-XComposer2, Dong et al. 2024, arXiv:2401.16420 §3.1; its build_mlp.py PLoRA): low-rank deltas
/// on every linear layer of a <see cref="CaptionLm"/>'s blocks, added only at image-token positions, y = W x + b +
/// mask·(x Aᵀ Bᵀ)·alpha/r, so text positions keep the base model's outputs exactly. The deltas are a module tree of their
/// own (<c>resblocks.{i}.{attn_in_proj,attn_out_proj,mlp_c_fc,mlp_c_proj}.{plora_a,plora_b}</c>) beside the untouched
/// language model, whose state_dict names do not change.
/// </summary>
public sealed class PartialLora : nn.Module
{
    private readonly ModuleList<PartialLoraBlock> resblocks;

    public PartialLora(CaptionLmConfig languageModel, PartialLoraConfig config) : base(nameof(PartialLora))
    {
        Config = config.Validate();
        resblocks = new ModuleList<PartialLoraBlock>();
        for (var i = 0; i < languageModel.Layers; i++)
        {
            resblocks.Add(new PartialLoraBlock(languageModel.Width, languageModel.MlpRatio * languageModel.Width, config));
        }
        RegisterComponents();
    }

    public PartialLoraConfig Config { get; }

    /// <summary>
    /// The deltas of one pass whose positions are marked by <paramref name="imageMask"/> ((B, L, 1) bool, true at image
    /// tokens): at false positions the base output is kept as it is (selected, not added to), bit for bit.
    /// </summary>
    public ILayerDeltas At(Tensor imageMask) => new MaskedDeltas(this, imageMask);

    private sealed class MaskedDeltas(PartialLora owner, Tensor mask) : ILayerDeltas
    {
        public Tensor Add(int layer, LinearSite site, Tensor input, Tensor output)
        {
            using var delta = owner.resblocks[layer].Delta(site, input);   // (B, L, out)
            using var sum = output.Plus(delta);
            return where(mask, sum, output);                               // (B, L, 1) mask broadcast over out
        }
    }
}

using TorchSharp;
using static TorchSharp.torch;

namespace MmCluster.Worker.Model.Lm;

/// <summary>
/// The deltas of one <see cref="ResidualAttentionBlock"/> of the language model: its attention's in and out projections
/// and its feed-forward's c_fc and c_proj (XComposer2 puts PLoRA on wqkv, wo and the feed-forward's w1, w2, w3).
/// </summary>
public sealed class PartialLoraBlock : nn.Module
{
    private readonly PartialLoraDelta attn_in_proj;
    private readonly PartialLoraDelta attn_out_proj;
    private readonly PartialLoraDelta mlp_c_fc;
    private readonly PartialLoraDelta mlp_c_proj;

    public PartialLoraBlock(long width, long mlpWidth, PartialLoraConfig config) : base(nameof(PartialLoraBlock))
    {
        attn_in_proj = new PartialLoraDelta(width, 3 * width, config);
        attn_out_proj = new PartialLoraDelta(width, width, config);
        mlp_c_fc = new PartialLoraDelta(width, mlpWidth, config);
        mlp_c_proj = new PartialLoraDelta(mlpWidth, width, config);
        RegisterComponents();
    }

    /// <summary>(B, L, in) -> (B, L, out): the delta of linear <paramref name="site"/> at every position.</summary>
    public Tensor Delta(LinearSite site, Tensor input) => site switch
    {
        LinearSite.AttentionIn => attn_in_proj.Delta(input),
        LinearSite.AttentionOut => attn_out_proj.Delta(input),
        LinearSite.MlpIn => mlp_c_fc.Delta(input),
        LinearSite.MlpOut => mlp_c_proj.Delta(input),
        _ => throw new ArgumentOutOfRangeException(nameof(site), site, "no such linear layer"),
    };
}

using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace MmCluster.Worker.Model.Blip2;

/// <summary>
/// One Q-Former layer (LAVIS Qformer.py BertLayer): self-attention shared by queries and text under the objective's mask,
/// cross-attention from the queries to the image features (in layers with one), then separate feed-forwards for the
/// queries (<c>ffn_query</c>, LAVIS intermediate_query/output_query) and the text (<c>ffn</c>).
/// </summary>
public sealed class QFormerLayer : nn.Module
{
    private readonly QFormerAttention attention;
    private readonly QFormerAttention? crossattention;
    private readonly QFormerFeedForward ffn;
    private readonly QFormerFeedForward ffn_query;

    public QFormerLayer(QFormerConfig config, long imageWidth, bool crossAttention) : base(nameof(QFormerLayer))
    {
        attention = new QFormerAttention(config.Width, config.Width, config.Heads);
        crossattention = crossAttention ? new QFormerAttention(config.Width, imageWidth, config.Heads) : null;
        ffn = new QFormerFeedForward(config.Width, config.MlpRatio * config.Width);
        ffn_query = new QFormerFeedForward(config.Width, config.MlpRatio * config.Width);
        RegisterComponents();
    }

    /// <param name="x">(B, Q+T, W): queries first.</param>
    /// <param name="queries">Q.</param>
    /// <param name="additiveMask">(B, 1, Q+T, Q+T), or null when there is no text.</param>
    /// <param name="image">(B, N, E) image features.</param>
    public Tensor Forward(Tensor input, long queries, Tensor? additiveMask, Tensor image)
    {
        using var x = GradientReady.Enter(input, this);   // backward leaving here: this layer's gradients are final
        var length = x.shape[1];
        using var h = attention.Forward(x, x, additiveMask);
        using var q = h.narrow(1, 0, queries);                                   // (B, Q, W)
        using var attended = crossattention is null ? q.alias() : crossattention.Forward(q, image, null);
        using var queryOut = ffn_query.forward(attended);
        if (length == queries)
        {
            return queryOut.alias();
        }
        using var t = h.narrow(1, queries, length - queries);                    // (B, T, W)
        using var textOut = ffn.forward(t);
        return cat([queryOut, textOut], 1);
    }
}

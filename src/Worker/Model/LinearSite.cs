namespace MmCluster.Worker.Model;

/// <summary>The linear layers of a <see cref="ResidualAttentionBlock"/> that <see cref="ILayerDeltas"/> can add to.</summary>
public enum LinearSite
{
    /// <summary>The attention's fused q, k, v projection (<c>in_proj_weight</c>, (3W, W)).</summary>
    AttentionIn,

    /// <summary>The attention's output projection (<c>out_proj</c>, (W, W)).</summary>
    AttentionOut,

    /// <summary>The feed-forward's expansion (<c>mlp.c_fc</c>, (4W, W)).</summary>
    MlpIn,

    /// <summary>The feed-forward's projection back (<c>mlp.c_proj</c>, (W, 4W)).</summary>
    MlpOut,
}

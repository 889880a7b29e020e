namespace MmCluster.Worker.Model.Lm;

/// <summary>
/// Partial LoRA's hyperparameters (InternLM-XComposer2, arXiv:2401.16420 §3.1): the rank r of each delta and its scale
/// alpha / r, the LoRA convention (Hu et al. 2021) that XComposer2's PLoRA module keeps (lora_r 256, lora_alpha 256 there).
/// </summary>
public sealed record PartialLoraConfig
{
    public int Rank { get; init; } = 8;
    public double Alpha { get; init; } = 16;

    /// <summary>The factor of every delta: alpha / rank.</summary>
    public double Scale => Alpha / Rank;

    /// <summary>Throws naming the first inconsistent field.</summary>
    public PartialLoraConfig Validate()
    {
        if (Rank < 1 || !(Alpha > 0))
        {
            throw new ArgumentException($"Invalid PartialLoraConfig: Rank {Rank} and Alpha {Alpha} must be positive.");
        }
        return this;
    }
}

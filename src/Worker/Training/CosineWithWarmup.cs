namespace MmCluster.Worker.Training;

/// <summary>
/// OpenCLIP's learning-rate schedule (open_clip_train/scheduler.py cosine_lr): linear warm-up base·(s+1)/warmup for the
/// first <c>WarmupSteps</c> steps, then a half cosine from base to <c>MinLr</c> at <c>TotalSteps</c>; MinLr after that.
/// </summary>
public sealed record CosineWithWarmup(double BaseLr, int WarmupSteps, int TotalSteps, double MinLr = 0)
{
    /// <summary>The learning rate for 0-based step <paramref name="step"/>.</summary>
    public double At(long step)
    {
        if (step < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(step), step, "step must be non-negative");
        }
        if (step < WarmupSteps)
        {
            return BaseLr * (step + 1) / WarmupSteps;
        }
        if (step >= TotalSteps)
        {
            return MinLr;
        }
        var progress = (double)(step - WarmupSteps) / (TotalSteps - WarmupSteps);   // in [0, 1)
        return MinLr + (0.5 * (1 + Math.Cos(Math.PI * progress)) * (BaseLr - MinLr));
    }
}

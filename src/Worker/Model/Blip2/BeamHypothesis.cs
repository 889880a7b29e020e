namespace MmCluster.Worker.Model.Blip2;

/// <summary>
/// One caption of <see cref="CaptionGenerator.BeamHypotheses"/>: its ids (without BOS and EOT), its length-normalised
/// log-probability, and whether it ended with EOT (false: cut at the token limit).
/// </summary>
public sealed record BeamHypothesis(long[] Tokens, double Score, bool Ended);

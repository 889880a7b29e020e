using static TorchSharp.torch;

namespace MmCluster.Worker.Model.Blip2;

/// <summary>The three stage-1 losses of one step, each a scalar tensor in the step's dispose scope, and their sum.</summary>
public sealed record Blip2Stage1Losses(Tensor Itc, Tensor Itm, Tensor Itg, Tensor Total);

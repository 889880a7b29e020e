namespace MmCluster.Shared.Spec;

/// <summary>What a stage trains; decides the model family, the losses and the evaluation.</summary>
public enum StageKind
{
    /// <summary>CLIP: image and text towers, contrastive loss.</summary>
    Clip,

    /// <summary>A small causal language model on the captions (stands in for BLIP-2's frozen LLM).</summary>
    Lm,

    /// <summary>BLIP-2 stage 1: Q-Former against a frozen image encoder (ITC, ITM, ITG).</summary>
    Blip2Stage1,

    /// <summary>BLIP-2 stage 2: Q-Former output projected into a frozen language model (captioning loss).</summary>
    Blip2Stage2,
}

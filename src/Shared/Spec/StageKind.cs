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

    /// <summary>LLaVA stage 1: a two-layer MLP projector from frozen CLIP patch features into a frozen language model, on captions.</summary>
    LlavaAlign,

    /// <summary>LLaVA stage 2: projector and language model tuned on instruction conversations (answers supervised).</summary>
    LlavaInstruct,

    /// <summary>InstructBLIP: the instruction enters the Q-Former beside the queries; Q-Former and projection tuned on conversations.</summary>
    InstructBlip,

    /// <summary>InternLM-XComposer2's Partial LoRA: low-rank deltas on the frozen language model, at image-token positions only.</summary>
    Plora,
}

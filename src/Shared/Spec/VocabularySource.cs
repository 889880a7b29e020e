namespace MmCluster.Shared.Spec;

/// <summary>
/// Which texts a staged run's compact caption vocabulary is built from (<c>vocabulary</c> in the run spec, on the first
/// stage that builds one: lm, blip2-stage1, ...; later stages read it from their init checkpoint). The coordinator only
/// carries it; the worker builds the vocabulary.
/// </summary>
public enum VocabularySource
{
    /// <summary>Every text of the manifest, all splits (the default): every word a stage meets has its own row.</summary>
    Manifest = 0,

    /// <summary>
    /// The training split's texts only, plus an unknown token: a word that only evaluation texts use (a held-out question
    /// phrasing) is read as <c>&lt;unk&gt;</c>, never as an embedding row that no stage trained.
    /// </summary>
    Train = 1,
}

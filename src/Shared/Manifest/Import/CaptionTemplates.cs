namespace MmCluster.Shared.Manifest.Import;

/// <summary>
/// Caption templates in the style of CLIP's prompt ensembles (Radford et al. 2021, §3.1.4). Training captions use
/// <see cref="Training"/>; <see cref="HeldOut"/> is never used in training, so zero-shot evaluation with it measures
/// generalisation to unseen phrasings.
/// </summary>
public static class CaptionTemplates
{
    public static IReadOnlyList<string> Training { get; } =
    [
        "a photo of a {}.",
        "a black and white photo of a {}.",
        "a grayscale photo of a {}.",
        "a close-up photo of a {}.",
        "a cropped photo of a {}.",
        "a photo of the {}.",
        "a small photo of a {}.",
        "a centered photo of a {}.",
        "a picture of a {}.",
        "an image of a {}.",
    ];

    public static IReadOnlyList<string> HeldOut { get; } =
    [
        "a low resolution photo of a {}.",
        "a blurry photo of the {}.",
        "a pixelated photo of a {}.",
        "itap of a {}.",
    ];

    /// <summary>Fills a template, writing "an" before a vowel ("an ankle boot").</summary>
    public static string Render(string template, string className)
    {
        var article = className.Length > 0 && "aeiouAEIOU".Contains(className[0]) ? "an {}" : "a {}";
        var text = template.StartsWith("a {}", StringComparison.Ordinal) ? article + template[4..] : template;
        return text.Replace(" a {}", " " + article, StringComparison.Ordinal).Replace("{}", className, StringComparison.Ordinal);
    }

    /// <summary>The training caption of a row: the template is picked by a hash of (seed, row), so it is reproducible.</summary>
    public static string ForRow(long row, string className, ulong seed = 0)
    {
        var pick = SplitMix64.Mix(SplitMix64.Mix(seed) ^ (ulong)row) % (ulong)Training.Count;
        return Render(Training[(int)pick], className);
    }
}

namespace MmCluster.Shared.Spec;

/// <summary>
/// Where a chat model's image tokens stand in the first user turn, as a run spec (<c>model.overrides.image_placement</c>
/// of the llava and plora presets) and a chat checkpoint's metadata write it: <see cref="BeforeQuestion"/> (LLaVA's
/// layout: <c>USER: &lt;image&gt; question ASSISTANT:</c>, the default) or <see cref="AfterQuestion"/>
/// (<c>USER: question &lt;image&gt; ASSISTANT:</c>, the other place LLaVA's instruction data puts the placeholder), where the
/// image tokens come after the question's words and so can attend to them.
/// </summary>
public static class ImagePlacements
{
    public const string BeforeQuestion = "before_question";
    public const string AfterQuestion = "after_question";

    /// <summary>The override's field name.</summary>
    public const string Field = "image_placement";

    public static IReadOnlyList<string> Names { get; } = [BeforeQuestion, AfterQuestion];

    /// <summary>True for <see cref="AfterQuestion"/>, false for <see cref="BeforeQuestion"/> or null; throws naming the known values otherwise.</summary>
    public static bool IsAfterQuestion(string? name) => name switch
    {
        null or BeforeQuestion => false,
        AfterQuestion => true,
        _ => throw new ArgumentException($"unknown image placement '{name}' (known: {string.Join(", ", Names)})"),
    };
}

namespace MmCluster.Shared.Manifest.Import;

/// <summary>
/// One way of asking a question of a kind (<see cref="InstructionPhrasings.Category"/>, <see cref="InstructionPhrasings.YesNo"/>,
/// <see cref="InstructionPhrasings.Choice"/>). <see cref="HeldOut"/> phrasings are used only on evaluation rows, so answer
/// accuracy on them measures whether a model reads the question rather than recognising a sentence it trained on.
/// </summary>
/// <param name="Kind">The question type, written as the user turn's <c>kind</c>.</param>
/// <param name="Template">
/// The question. <c>{a}</c> is the class asked about with its article (<c>an ankle boot</c>); in a choice, <c>{1}</c>,
/// <c>{2}</c>, <c>{3}</c> are the options' bare names and <c>{a1}</c>, <c>{a2}</c>, <c>{a3}</c> with their article.
/// </param>
/// <param name="HeldOut">Only on evaluation rows (any split but <c>train</c>).</param>
/// <param name="Attribute">For a yes-no question: the <see cref="ItemAttributes"/> it asks about, or <see cref="InstructionPhrasings.IsClass"/>.</param>
public sealed record QuestionPhrasing(string Kind, string Template, bool HeldOut, string? Attribute = null);

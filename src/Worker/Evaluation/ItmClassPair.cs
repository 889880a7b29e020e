namespace MmCluster.Worker.Evaluation;

/// <summary>
/// ITM decisions on held-out pairs of one image class and one caption class: a positive when the classes are equal (wrong:
/// rejected), a negative otherwise (wrong: accepted as a match).
/// </summary>
public sealed record ItmClassPair(int ImageClass, int CaptionClass, int Pairs, int Wrong);

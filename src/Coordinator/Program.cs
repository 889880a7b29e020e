namespace MmCluster.Coordinator;

public static class Program
{
    public static int Main(string[] args)
    {
        Console.Error.WriteLine("mmcluster coordinator: not wired yet");
        return 2;
    }
}

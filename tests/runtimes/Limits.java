// What a JVM in a session takes for its own limits, one "key value" line
// each: the default heap, the CPUs it will use, and the machine's memory
// as the management bean reports it (a container's, in a container).
import java.lang.management.ManagementFactory;

public class Limits {
	public static void main(String[] args) {
		Runtime rt = Runtime.getRuntime();
		System.out.println("max_heap_bytes " + rt.maxMemory());
		System.out.println("cpus " + rt.availableProcessors());
		com.sun.management.OperatingSystemMXBean os =
			(com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
		System.out.println("total_memory_bytes " + os.getTotalMemorySize());
	}
}

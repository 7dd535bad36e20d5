import { useState } from "react";
import { createRoot } from "react-dom/client";
import "./main.css";

function App() {
  const [count, setCount] = useState(0);
  return (
    <main>
      <h1>Hello from React</h1>
      <button onClick={() => setCount(count + 1)}>clicked {count} times</button>
    </main>
  );
}

createRoot(document.getElementById("root")).render(<App />);
